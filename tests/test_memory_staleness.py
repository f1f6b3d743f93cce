"""Each staleness rule of ChromaMemory.recall, with time controlled through ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NS = "user:ana"


@pytest.fixture
def mem() -> ChromaMemory:
    return ChromaMemory(encoder=HashingEncoder(), update_detector=None)


def texts(found: list) -> list[str]:
    return [m.text for m in found]


def test_memory_is_recalled_before_its_ttl_expires(mem: ChromaMemory) -> None:
    mem.remember("parking code is 4411", namespace=NS, ttl=timedelta(hours=1), now=T0)
    found = mem.recall("parking code", namespace=NS, now=T0 + timedelta(minutes=59))
    assert texts(found) == ["parking code is 4411"]


def test_expired_ttl_memory_is_not_recalled(mem: ChromaMemory) -> None:
    mem.remember("parking code is 4411", namespace=NS, ttl=3600, now=T0)
    assert mem.recall("parking code", namespace=NS, now=T0 + timedelta(hours=1)) == []


def test_not_yet_valid_memory_is_not_recalled_until_valid_from(mem: ChromaMemory) -> None:
    start = T0 + timedelta(days=3)
    mem.remember("office closed for renovation", namespace=NS, valid_from=start, now=T0)
    assert mem.recall("office closed", namespace=NS, now=start - timedelta(seconds=1)) == []
    assert texts(mem.recall("office closed", namespace=NS, now=start)) == [
        "office closed for renovation"
    ]


def test_ttl_counts_from_valid_from_when_it_is_in_the_future(mem: ChromaMemory) -> None:
    start = T0 + timedelta(days=1)
    mem.remember("guest wifi is open", namespace=NS, valid_from=start, ttl=3600, now=T0)
    assert texts(mem.recall("guest wifi", namespace=NS, now=start + timedelta(minutes=30)))
    assert mem.recall("guest wifi", namespace=NS, now=start + timedelta(hours=2)) == []


def test_same_key_memory_supersedes_older_version(mem: ChromaMemory) -> None:
    mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    new = mem.remember("standup is at 10am", namespace=NS, key="standup", now=T0 + timedelta(1))
    found = mem.recall("standup", namespace=NS, now=T0 + timedelta(days=2))
    assert [m.id for m in found] == [new]


def test_superseded_memory_stays_in_history_with_its_replacement(mem: ChromaMemory) -> None:
    old = mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    new = mem.remember("standup is at 10am", namespace=NS, key="standup", now=T0 + timedelta(1))
    hist = mem.history("standup", namespace=NS)
    assert [m.id for m in hist] == [old, new]
    assert hist[0].superseded_by == new
    assert hist[0].superseded_at == T0 + timedelta(days=1)
    assert hist[0].stale_reason == "same key 'standup'"
    assert hist[1].superseded_by is None


def test_query_as_of_a_time_before_the_supersession_sees_the_old_version(
    mem: ChromaMemory,
) -> None:
    mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    mem.remember("standup is at 10am", namespace=NS, key="standup", now=T0 + timedelta(days=7))
    as_of = mem.recall("standup", namespace=NS, now=T0 + timedelta(days=1))
    assert texts(as_of) == ["standup is at 9am"]


def test_future_dated_update_leaves_old_version_current_until_it_starts(
    mem: ChromaMemory,
) -> None:
    mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    switch = T0 + timedelta(days=5)
    mem.remember(
        "standup is at 10am", namespace=NS, key="standup", valid_from=switch, now=T0 + timedelta(1)
    )
    assert texts(mem.recall("standup", namespace=NS, now=T0 + timedelta(days=2))) == [
        "standup is at 9am"
    ]
    assert texts(mem.recall("standup", namespace=NS, now=switch)) == ["standup is at 10am"]


def test_max_age_excludes_memories_created_longer_ago(mem: ChromaMemory) -> None:
    mem.remember("lunch order is pizza", namespace=NS, now=T0)
    mem.remember("lunch order is sushi today", namespace=NS, now=T0 + timedelta(days=9))
    found = mem.recall(
        "lunch order", namespace=NS, now=T0 + timedelta(days=10), max_age=timedelta(days=2)
    )
    assert texts(found) == ["lunch order is sushi today"]


def test_crowd_of_stale_neighbours_does_not_hide_a_current_memory() -> None:
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=None, pool=5)
    for i in range(30):  # identical expired memories crowd the nearest-neighbour pool
        mem.remember("release freeze is on", namespace=NS, ttl=60, now=T0 + timedelta(seconds=i))
    mem.remember("release freeze is on for module billing", namespace=NS, now=T0)
    found = mem.recall("release freeze is on", namespace=NS, k=1, now=T0 + timedelta(days=1))
    assert texts(found) == ["release freeze is on for module billing"]
    assert mem.fallback_queries >= 1


def test_recall_scores_are_cosine_similarities_best_first(mem: ChromaMemory) -> None:
    mem.remember("alpha beta gamma", namespace=NS, now=T0)
    mem.remember("alpha delta epsilon", namespace=NS, now=T0)
    found = mem.recall("alpha beta gamma", namespace=NS, now=T0)
    assert found[0].text == "alpha beta gamma"
    assert found[0].score == pytest.approx(1.0, abs=1e-4)
    assert found[0].score >= found[1].score


def test_forget_removes_a_memory_from_recall_and_history(mem: ChromaMemory) -> None:
    mid = mem.remember("door code 1234", namespace=NS, key="door", now=T0)
    assert mem.forget(mid, namespace=NS) is True
    assert mem.recall("door code", namespace=NS, now=T0) == []
    assert mem.history("door", namespace=NS) == []
    assert mem.forget(mid, namespace=NS) is False
