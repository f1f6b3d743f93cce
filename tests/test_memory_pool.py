"""The recall pool: sized from the stale share a namespace's recalls meet; results never change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nova_graph.memory import ChromaMemory
from nova_graph.memory.pool import REQUERY_ODDS, PoolSizer, requery_odds
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NS = "user:ana"


def test_the_pool_grows_with_the_stale_share_it_meets() -> None:
    sizer = PoolSizer()
    for _ in range(200):  # pools with no stale row: read k rows, no extra
        sizer.observe(NS, read=5, current=5)
    assert sizer.extra(NS, 5) == 0
    for _ in range(200):  # one stale row in ten
        sizer.observe(NS, read=10, current=9)
    extra = sizer.extra(NS, 5)
    assert extra == 2 and requery_odds(5, extra, 0.1) <= REQUERY_ODDS < requery_odds(5, 1, 0.1)
    assert sizer.extra("user:bo", 5) == extra  # another namespace starts from the prior (0.1)
    assert PoolSizer(7).extra(NS, 5) == 7  # a fixed pool stays fixed


def test_requery_odds_is_the_binomial_tail() -> None:
    assert requery_odds(5, 0, 0.0) == 0.0
    assert requery_odds(1, 0, 0.5) == pytest.approx(0.5)
    assert requery_odds(2, 1, 0.5) == pytest.approx(0.5)  # 2 or 3 of 3 rows stale: 4 in 8
    assert requery_odds(5, 16, 0.0) == 0.0


@pytest.mark.parametrize("max_pool", [1024, 8])  # the pool grows; past max_pool Chroma filters
def test_a_stale_crowd_larger_than_the_pool_never_hides_a_current_memory(max_pool: int) -> None:
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=None, max_pool=max_pool)
    for i in range(40):  # identical expired memories crowd the nearest-neighbour pool
        mem.remember("release freeze is on", namespace=NS, ttl=60, now=T0 + timedelta(seconds=i))
    mem.remember("release freeze is on for module billing", namespace=NS, now=T0)
    for _ in range(3):
        found = mem.recall("release freeze is on", namespace=NS, k=2, now=T0 + timedelta(days=1))
        assert [m.text for m in found] == ["release freeze is on for module billing"]
    assert mem.fallback_queries == 3
