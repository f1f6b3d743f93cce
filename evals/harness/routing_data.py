"""CLINC150 for the routing evaluation: domains as routes, plus a vector cache for its texts."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nova_graph.embeddings import Encoder, Vectors
from nova_graph.errors import InvalidRequestError

DEFAULT_DATA = Path("..") / "shared" / "data" / "clinc150"
#: Joined pairs for the multi-domain test; the last template is never used by calibration.
PAIR_TEMPLATES: tuple[str, ...] = (
    "{a}, and also {b}",
    "{a}. Then {b}",
    "{a} and {b}",
    "{a}; after that {b}",
)


@dataclass
class Clinc:
    """The splits of CLINC150 with intents mapped to their domains."""

    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]
    oos_train: list[str]
    oos_val: list[str]
    oos_test: list[str]
    digest: str

    def examples(self) -> dict[str, list[str]]:
        """Training requests grouped by domain (the router's examples)."""
        out: dict[str, list[str]] = {}
        for text, domain in self.train:
            out.setdefault(domain, []).append(text)
        return out

    def all_texts(self) -> list[str]:
        """Every distinct text of every split."""
        texts = [t for split in (self.train, self.val, self.test) for t, _ in split]
        texts += self.oos_train + self.oos_val + self.oos_test
        return list(dict.fromkeys(texts))


def load_clinc(data_dir: Path, *, limit: int | None = None, seed: int = 0) -> Clinc:
    """Read ``data_full.json`` and ``domains.json``; ``limit`` samples the val and test splits."""
    full, domains = data_dir / "data_full.json", data_dir / "domains.json"
    if not full.is_file() or not domains.is_file():
        raise InvalidRequestError(
            f"{data_dir} does not hold CLINC150 (data_full.json and domains.json); "
            "pass --data DIR pointing at the clinc150 folder"
        )
    raw = full.read_bytes()
    data = json.loads(raw)
    domain_of = {i: d for d, intents in json.loads(domains.read_text()).items() for i in intents}

    def labelled(split: str) -> list[tuple[str, str]]:
        return [(t, domain_of[i]) for t, i in data[split]]

    def oos(split: str) -> list[str]:
        return [t for t, _ in data[split]]

    rng = random.Random(seed)

    def cut(items: list, n: int | None) -> list:
        return rng.sample(items, n) if n is not None and n < len(items) else items

    return Clinc(
        train=labelled("train"),
        val=cut(labelled("val"), limit),
        test=cut(labelled("test"), limit),
        oos_train=oos("oos_train"),
        oos_val=oos("oos_val"),
        oos_test=cut(oos("oos_test"), None if limit is None else max(limit // 4, 10)),
        digest=hashlib.sha256(raw + domains.read_bytes()).hexdigest()[:16],
    )


def joined_pairs(
    items: Sequence[tuple[str, str]], n: int, *, seed: int = 1
) -> list[tuple[str, str, set[str]]]:
    """``n`` requests joining two requests of different domains: (template, text, domains)."""
    rng = random.Random(seed)
    out: list[tuple[str, str, set[str]]] = []
    while len(out) < n and len(items) > 1:
        (a, da), (b, db) = rng.sample(list(items), 2)
        if da == db:
            continue
        template = PAIR_TEMPLATES[len(out) % len(PAIR_TEMPLATES)]
        out.append((template, template.format(a=a, b=b), {da, db}))
    return out


class CachedVectors:
    """An :class:`Encoder` serving precomputed vectors, delegating unseen texts to ``base``."""

    def __init__(self, base: Encoder, store: dict[str, np.ndarray]) -> None:
        self.base = base
        self.dimension = int(base.dimension)
        self.store = store

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Vectors for ``texts``: stored ones from the cache, the rest from the base encoder."""
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.store]
        if missing:
            fresh = self.base.encode(missing)
            self.store.update(zip(missing, fresh, strict=True))
        return np.stack([self.store[t] for t in texts]).astype(np.float32)

    @classmethod
    def for_texts(cls, base: Encoder, texts: list[str], cache: Path, key: str) -> CachedVectors:
        """Load ``cache/<key>-<encoder kind>.npz`` or encode ``texts`` once and write it.

        The encoder's ``kind`` (its class name if it has none) is part of the file name, so
        vectors from different encoders never mix.
        """
        path = cache / f"{key}-{getattr(base, 'kind', type(base).__name__)}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                stored = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
            if all(t in stored for t in texts):
                return cls(base, stored)
        vectors = np.asarray(base.encode(texts), dtype=np.float32)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.asarray(texts), vectors=vectors)
        tmp.replace(path)
        return cls(base, dict(zip(texts, vectors, strict=True)))
