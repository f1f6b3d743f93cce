"""An offline, deterministic encoder for tests where semantics do not matter."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from nova_graph.embeddings import Vectors

_TOKEN = re.compile(r"\w+")


class HashingEncoder:
    """Bag-of-words feature hashing into ``dimension`` dims, L2-normalised (instant, no model).

    Texts sharing words are close; identical texts have similarity 1. Satisfies
    :class:`nova_graph.embeddings.Encoder`.
    """

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in _TOKEN.findall(text.lower()) or [text]:
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "big")
                out[i, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            if norm == 0.0:
                out[i, 0], norm = 1.0, 1.0
            out[i] /= norm
        return out
