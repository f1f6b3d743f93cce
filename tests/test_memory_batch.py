"""``remember_many``: one batch write that supersedes exactly as ``remember`` in order would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nova_graph.errors import MemoryStoreError
from nova_graph.memory import ChromaMemory
from nova_graph.memory.batch import NewMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NS = "user:ana"


def store(path: Path, detector: str | None = None) -> ChromaMemory:
    return ChromaMemory(str(path), encoder=HashingEncoder(), update_detector=detector)


def texts(mem: ChromaMemory, query: str, *, now: datetime = T0, ns: str = NS) -> list[str]:
    return [m.text for m in mem.recall(query, namespace=ns, k=10, now=now)]


def test_a_later_item_with_the_same_key_supersedes_an_earlier_one_in_the_batch(
    tmp_path: Path,
) -> None:
    mem = store(tmp_path)
    ids = mem.remember_many(
        [
            NewMemory("standup is at 9am", key="standup"),
            {"text": "lunch is at noon"},
            NewMemory("standup is at 10am", key="standup"),
        ],
        namespace=NS,
        now=T0,
    )
    assert len(ids) == 3
    assert "standup is at 9am" not in texts(mem, "standup")
    assert "standup is at 10am" in texts(mem, "standup")
    history = mem.history("standup", namespace=NS)
    assert [m.text for m in history] == ["standup is at 9am", "standup is at 10am"]
    assert history[0].superseded_by == ids[2] and history[1].superseded_by is None
    assert mem.get(ids[0], namespace=NS) is not None  # kept in history


def test_a_batch_supersedes_what_an_earlier_batch_or_remember_stored(tmp_path: Path) -> None:
    mem = store(tmp_path)
    first = mem.remember("wifi password is alpha", namespace=NS, key="wifi", now=T0)
    mem.remember_many([NewMemory("wifi password is beta", key="wifi")], namespace=NS, now=T0)
    mem.remember_many([NewMemory("wifi password is gamma", key="wifi")], namespace=NS, now=T0)
    history = mem.history("wifi", namespace=NS)
    assert [m.text for m in history] == [
        "wifi password is alpha",
        "wifi password is beta",
        "wifi password is gamma",
    ]
    assert [m.superseded_by is None for m in history] == [False, False, True]
    assert history[0].id == first and history[0].superseded_by == history[1].id
    assert [t for t in texts(mem, "wifi password") if "wifi" in t] == ["wifi password is gamma"]


def test_validity_windows_are_kept_in_a_batch(tmp_path: Path) -> None:
    mem = store(tmp_path)
    later = T0 + timedelta(days=7)
    mem.remember_many(
        [
            NewMemory("parking code is 4411", ttl=3600),
            NewMemory("office closed for renovation", valid_from=later),
            NewMemory("standup is at 9am", key="standup"),
            NewMemory("standup is at 10am", key="standup", valid_from=later),
        ],
        namespace=NS,
        now=T0,
    )
    now_texts = texts(mem, "office standup parking")
    assert "parking code is 4411" in now_texts
    assert "office closed for renovation" not in now_texts  # not valid yet
    assert "standup is at 9am" in now_texts  # superseded only from `later`
    after = texts(mem, "office standup parking", now=later + timedelta(hours=2))
    assert "parking code is 4411" not in after  # expired
    assert "office closed for renovation" in after
    assert "standup is at 10am" in after and "standup is at 9am" not in after


def test_namespaces_stay_apart_in_batches(tmp_path: Path) -> None:
    mem = store(tmp_path)
    mem.remember_many([NewMemory("desk is B12", key="desk")], namespace=NS, now=T0)
    mem.remember_many([NewMemory("desk is C3", key="desk")], namespace="user:bo", now=T0)
    assert texts(mem, "desk") == ["desk is B12"]
    assert texts(mem, "desk", ns="user:bo") == ["desk is C3"]
    assert mem.history("desk", namespace=NS)[0].superseded_by is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (NewMemory("   "), "item 1: memory text is empty"),
        ({"text": "ok", "colour": "red"}, "item 1: .*colour"),
        (NewMemory("ok", ttl=-5), "item 1: .*ttl"),
        ("just a string", "item 1: expected a NewMemory"),
    ],
)
def test_a_bad_item_raises_a_typed_error_and_stores_nothing(
    tmp_path: Path, bad: object, message: str
) -> None:
    mem = store(tmp_path)
    mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    with pytest.raises(MemoryStoreError, match=message):
        mem.remember_many(
            [NewMemory("standup is at 10am", key="standup"), bad],  # type: ignore[list-item]
            namespace=NS,
            now=T0,
        )
    assert mem.count(namespace=NS) == 1
    assert texts(mem, "standup") == ["standup is at 9am"]


def test_a_batch_with_the_detector_matches_remember_one_at_a_time(tmp_path: Path) -> None:
    items = [
        "the gate code is 1234",
        "my sister lives in Porto",
        "the gate code is 5678",
        "my sister lives in Porto",  # duplicate
        "I do not drink coffee",
        "I drink coffee",
    ]
    one = store(tmp_path / "one", "similarity")
    for t in items:
        one.remember(t, namespace=NS, now=T0)
    many = store(tmp_path / "many", "similarity")
    many.remember_many([NewMemory(t) for t in items], namespace=NS, now=T0)
    found = texts(many, "gate code sister coffee")
    assert sorted(found) == sorted(texts(one, "gate code sister coffee"))
    assert len(found) == len(items) - 1  # the duplicate superseded its twin within the batch
    assert many.count(namespace=NS) == one.count(namespace=NS) == len(items)


def test_a_stored_memory_a_batch_supersedes_keeps_its_vector_in_history(tmp_path: Path) -> None:
    # the batch reads its stored neighbours without their vectors and fetches the retired one's
    mem = store(tmp_path, "similarity")
    old = mem.remember("the standup is at 9am", namespace=NS, now=T0)
    before = mem.recall("standup time", namespace=NS, k=1, now=T0)[0]
    later = T0 + timedelta(days=1)
    (new,) = mem.remember_many([NewMemory("the standup is at 10am")], namespace=NS, now=later)
    assert [m.id for m in mem.recall("standup time", namespace=NS, k=5, now=later)] == [new]
    retired = mem.get(old, namespace=NS)
    assert retired is not None and retired.superseded_by == new
    as_of = mem.recall("standup time", namespace=NS, k=1, now=T0 + timedelta(hours=1))
    assert [m.id for m in as_of] == [old]  # found in history, with the vector it was stored with
    assert as_of[0].score == pytest.approx(before.score, abs=1e-5)
