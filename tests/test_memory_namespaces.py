"""Namespaces are isolated: recall, keys and history never cross them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_recall_never_returns_another_namespaces_memory() -> None:
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=None)
    mem.remember("my bank pin is 1234", namespace="user:ana", now=T0)
    assert mem.recall("my bank pin is 1234", namespace="user:bob", now=T0) == []
    assert [m.namespace for m in mem.recall("bank pin", namespace="user:ana", now=T0)] == [
        "user:ana"
    ]


def test_same_key_in_another_namespace_does_not_supersede() -> None:
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=None)
    a = mem.remember("standup at 9am", namespace="team:a", key="standup", now=T0)
    mem.remember("standup at 11am", namespace="team:b", key="standup", now=T0 + timedelta(1))
    assert [m.id for m in mem.recall("standup", namespace="team:a", now=T0 + timedelta(2))] == [a]
    assert len(mem.history("standup", namespace="team:a")) == 1


def test_two_in_memory_stores_do_not_share_data() -> None:
    first = ChromaMemory(encoder=HashingEncoder(), update_detector=None)
    second = ChromaMemory(encoder=HashingEncoder(), update_detector=None)
    first.remember("only in the first store", namespace="n1", now=T0)
    assert second.recall("only in the first store", namespace="n1", now=T0) == []
