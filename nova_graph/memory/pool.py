"""How many extra nearest neighbours a recall reads first, so that stale ones can be skipped.

A recall asks Chroma for the ``k + p`` nearest live rows and keeps the current ones; when fewer
than ``k`` are current it asks again for a larger pool (see :mod:`nova_graph.memory.store`), so
``p`` never changes a result, only its cost: each extra row costs its metadata read (about 5 % of
a plain ``k = 5`` query per row, measured at 100k memories), and a second query costs a whole
query. :class:`PoolSizer` keeps, per namespace, the share of stale rows its recent pools held and
picks the smallest ``p`` for which a second query is needed at most :data:`REQUERY_ODDS` of the
time (binomial model of ``k + p`` rows each stale with that share).
"""

from __future__ import annotations

import math
from functools import lru_cache

#: Accepted chance that the first pool holds fewer than ``k`` current rows.
REQUERY_ODDS = 0.05
#: Stale share assumed for a namespace before its first recall.
PRIOR_STALE = 0.1
#: Weight of the newest pool in the running stale share.
LEARNING_RATE = 0.05


def requery_odds(k: int, extra: int, stale: float) -> float:
    """Chance that more than ``extra`` of ``k + extra`` rows are stale (each with ``stale``)."""
    n = k + extra
    fine = sum(math.comb(n, i) * stale**i * (1.0 - stale) ** (n - i) for i in range(extra + 1))
    return max(0.0, 1.0 - fine)


class PoolSizer:
    """Per-namespace stale share of recall pools, and the extra rows it calls for.

    ``fixed``: always read this many extra rows (``None``: adapt to the stale share, at most
    ``limit`` extra rows).
    """

    def __init__(self, fixed: int | None = None, *, limit: int = 16) -> None:
        self.fixed = fixed
        self.limit = limit
        self._stale: dict[str, float] = {}

    def extra(self, namespace: str, k: int) -> int:
        """Extra rows to read for a top-``k`` recall in ``namespace``."""
        if self.fixed is not None:
            return self.fixed
        return _smallest_extra(k, round(self._stale.get(namespace, PRIOR_STALE), 3), self.limit)

    def observe(self, namespace: str, read: int, current: int) -> None:
        """Record a first pool of ``read`` rows of which ``current`` were current."""
        if read:
            old = self._stale.get(namespace, PRIOR_STALE)
            self._stale[namespace] = old + LEARNING_RATE * ((read - current) / read - old)


@lru_cache(maxsize=4096)
def _smallest_extra(k: int, stale: float, limit: int) -> int:
    extra = 0
    while extra < limit and requery_odds(k, extra, stale) > REQUERY_ODDS:
        extra += 1
    return extra
