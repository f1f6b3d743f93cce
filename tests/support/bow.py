"""A bag-of-words router and encoder: fast, deterministic stand-ins where semantics don't matter.

Token overlap makes every routing decision checkable by hand in a test.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from nova_graph.routing.decision import RouteDecision


def tokens(text: str) -> set[str]:
    """Lower-case alphanumeric tokens of ``text``."""
    return set(re.findall(r"[a-z0-9]+", text.lower()))


class NearestExampleRouter:
    """Routes to the agent with the example sharing the most tokens (cosine over token sets)."""

    def __init__(self, examples: Mapping[str, Sequence[str]], threshold: float = 0.0) -> None:
        self.examples = {a: [tokens(x) for x in xs] for a, xs in examples.items()}
        self.threshold = threshold

    def route(self, text: str) -> RouteDecision:
        t = tokens(text)
        scores = {
            a: max((len(t & x) / math.sqrt(len(t) * len(x)) if t and x else 0.0) for x in xs)
            for a, xs in self.examples.items()
        }
        best = max(scores, key=lambda a: scores[a])
        if scores[best] <= self.threshold:
            return RouteDecision(scores=scores, out_of_scope=True)
        return RouteDecision(agents=[best], scores=scores)


def bow_encode(texts: Sequence[str], dim: int = 4096) -> np.ndarray:
    """Unit bag-of-words vectors (hashed tokens)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in tokens(t):
            out[i, zlib.crc32(w.encode()) % dim] = 1.0
        out[i] /= max(1e-9, float(np.linalg.norm(out[i])))
    return out
