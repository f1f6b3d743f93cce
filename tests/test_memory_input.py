"""Bad input to ChromaMemory: a clear MemoryStoreError and nothing stored half-way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from nova_graph.embeddings import Vectors
from nova_graph.errors import MemoryStoreError, NovaError
from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NS = "user:ana"


@pytest.fixture
def mem() -> ChromaMemory:
    return ChromaMemory(encoder=HashingEncoder(), update_detector=None, max_text_bytes=1024)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "   \n\t"}, "empty"),
        ({"text": "x" * 1025}, "1024-byte limit"),
        ({"text": 42}, "must be a str"),
        ({"text": None}, "must be a str"),
        ({"ttl": -5}, "positive"),
        ({"ttl": 0}, "positive"),
        ({"ttl": "1h"}, "timedelta or seconds"),
        ({"valid_from": datetime(2025, 1, 1)}, "naive"),
        ({"now": datetime(2025, 1, 1)}, "naive"),
        ({"valid_from": "2025-01-01"}, "must be a datetime"),
        ({"namespace": ""}, "bad namespace"),
        ({"namespace": "has space"}, "bad namespace"),
        ({"namespace": 7}, "bad namespace"),
        ({"key": ""}, "bad key"),
        ({"metadata": {"agent": 3}}, "must be a str"),
        ({"metadata": {"created_at": 1.0}}, "reserved"),
        ({"metadata": {"tags": ["a"]}}, "must be a str, int"),
        ({"metadata": "agent=x"}, "must be a mapping"),
    ],
)
def test_bad_remember_arguments_raise_and_store_nothing(
    mem: ChromaMemory, kwargs: dict, message: str
) -> None:
    args = {"text": "a fact", "namespace": NS, **kwargs}
    with pytest.raises(MemoryStoreError, match=message):
        mem.remember(args.pop("text"), **args)
    assert mem.count(namespace=NS) == 0


def test_memory_errors_are_nova_errors() -> None:
    assert issubclass(MemoryStoreError, NovaError)


def test_utf8_size_counts_bytes_not_characters(mem: ChromaMemory) -> None:
    with pytest.raises(MemoryStoreError, match="bytes"):
        mem.remember("é" * 600, namespace=NS)  # 600 chars, 1200 bytes


@pytest.mark.parametrize(
    "kwargs",
    [{"query": ""}, {"k": 0}, {"k": "5"}, {"max_age": -1}, {"namespace": "../etc"}],
)
def test_bad_recall_arguments_raise(mem: ChromaMemory, kwargs: dict) -> None:
    args = {"query": "fact", "namespace": NS, **kwargs}
    with pytest.raises(MemoryStoreError):
        mem.recall(args.pop("query"), **args)


class FailingOn(HashingEncoder):
    """Encodes like HashingEncoder but fails (or returns a wrong width) on one text."""

    def __init__(self, bad: str, *, wrong_width: bool = False) -> None:
        super().__init__()
        self.bad, self.wrong_width = bad, wrong_width

    def encode(self, texts: Sequence[str]) -> Vectors:
        if self.bad in texts:
            if self.wrong_width:
                return np.ones((len(texts), 7), dtype=np.float32) / np.sqrt(7)
            raise RuntimeError("encoder exploded")
        return super().encode(texts)


def test_failed_encoding_keeps_the_old_keyed_version_current() -> None:
    mem = ChromaMemory(encoder=FailingOn("standup is at 10am"), update_detector=None)
    old = mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    with pytest.raises(MemoryStoreError, match="encoder failed"):
        mem.remember("standup is at 10am", namespace=NS, key="standup", now=T0 + timedelta(1))
    assert [m.id for m in mem.recall("standup", namespace=NS, now=T0 + timedelta(2))] == [old]
    assert [m.superseded_by for m in mem.history("standup", namespace=NS)] == [None]


def test_add_rejected_by_chroma_applies_no_supersession_marks() -> None:
    mem = ChromaMemory(encoder=FailingOn("standup 10am", wrong_width=True), update_detector=None)
    old = mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    with pytest.raises(MemoryStoreError, match="nothing was stored"):
        mem.remember("standup 10am", namespace=NS, key="standup", now=T0 + timedelta(1))
    assert mem.count(namespace=NS) == 1
    hist = mem.history("standup", namespace=NS)
    assert [(m.id, m.superseded_by) for m in hist] == [(old, None)]


def test_forget_rejects_a_non_string_id(mem: ChromaMemory) -> None:
    with pytest.raises(MemoryStoreError, match="bad memory id"):
        mem.forget(123, namespace=NS)  # type: ignore[arg-type]


def test_bad_chroma_url_is_rejected() -> None:
    with pytest.raises(MemoryStoreError, match="bad Chroma URL"):
        ChromaMemory(url="127.0.0.1:8000", encoder=HashingEncoder())


def test_lone_surrogates_are_a_typed_error_and_nothing_is_stored(mem: ChromaMemory) -> None:
    for kwargs in ({}, {"key": "k\udc80"}, {"metadata": {"note": "\ud800"}}):
        text = "pin \udc80 1234" if not kwargs else "pin 1234"
        with pytest.raises(MemoryStoreError, match="lone surrogate"):
            mem.remember(text, namespace=NS, **kwargs)  # type: ignore[arg-type]
    assert mem.count(namespace=NS) == 0
