"""The update detector: unkeyed memories that replace a close one supersede it (and say why)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from nova_graph.embeddings import default_encoder
from nova_graph.memory import ChromaMemory, ModelUpdateDetector, UpdateVerdict
from nova_graph.memory.detector import Candidate, SimilarityUpdateDetector
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
NS = "user:ana"


@pytest.fixture(scope="module")
def mem() -> ChromaMemory:
    return ChromaMemory(encoder=default_encoder())


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("The team standup is at 9am", "The team standup is at 10am", "value changed"),
        ("I am vegetarian", "I am not vegetarian", "negation flipped"),
        (
            "We decided to use Postgres for the ERP database",
            "We switched to MySQL instead of Postgres for the ERP database",
            "update cue",
        ),
    ],
)
def test_a_changed_value_supersedes_the_close_old_memory(
    mem: ChromaMemory, old: str, new: str, why: str
) -> None:
    ns = "det-" + hashlib.sha1(old.encode()).hexdigest()[:8]
    old_id = mem.remember(old, namespace=ns, now=T0)
    new_id = mem.remember(new, namespace=ns, now=T0 + WEEK)
    stale = mem.get(old_id, namespace=ns)
    assert stale is not None and stale.superseded_by == new_id
    assert why in (stale.stale_reason or "")
    assert [m.text for m in mem.recall(old, namespace=ns, now=T0 + 2 * WEEK, k=5)] == [new]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Invoice 1042 is paid", "Invoice 1043 is paid"),
        ("Budget for Q3 is 40k", "Budget for Q4 is 55k"),
        ("Ana lives in Lisbon", "Ana likes jazz concerts"),
    ],
)
def test_related_but_distinct_facts_both_stay_current(
    mem: ChromaMemory, first: str, second: str
) -> None:
    ns = "keep-" + hashlib.sha1(first.encode()).hexdigest()[:8]
    mem.remember(first, namespace=ns, now=T0)
    mem.remember(second, namespace=ns, now=T0 + WEEK)
    found = mem.recall(first, namespace=ns, now=T0 + 2 * WEEK, k=5)
    assert sorted(m.text for m in found) == sorted([first, second])


def test_detector_does_not_replace_a_memory_with_a_different_key(mem: ChromaMemory) -> None:
    mem.remember("The team standup is at 9am", namespace="keys", key="team_a", now=T0)
    mem.remember("The team standup is at 10am", namespace="keys", key="team_b", now=T0 + WEEK)
    assert len(mem.recall("team standup", namespace="keys", now=T0 + 2 * WEEK)) == 2


def test_exact_duplicate_replaces_the_older_copy() -> None:
    det = SimilarityUpdateDetector()
    reps = det.replaced("Standup at 9am", [Candidate("m1", "standup  at 9am", 1.0)])
    assert [(r.id, r.reason) for r in reps] == [("m1", "similarity 1.00: same text (duplicate)")]


class StructuredFake:
    """A chat-model stand-in with ``with_structured_output`` (an external interface)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def with_structured_output(self, schema: type) -> RunnableLambda:
        def run(prompt: str) -> Any:
            self.prompts.append(prompt)
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

        return RunnableLambda(run)


def test_model_detector_supersedes_what_the_model_names() -> None:
    model = StructuredFake(None)
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=ModelUpdateDetector(model))
    old = mem.remember("lunch with the CFO on friday", namespace=NS, now=T0)
    model.answer = UpdateVerdict(replaces=[old, "invented-id"], reason="meeting moved")
    new = mem.remember("lunch with the CFO moved to monday", namespace=NS, now=T0 + WEEK)
    stale = mem.get(old, namespace=NS)
    assert stale is not None and stale.superseded_by == new
    assert stale.stale_reason == "model: meeting moved"
    assert '"text": "lunch with the CFO on friday"' in model.prompts[-1]


def test_model_detector_failure_supersedes_nothing_without_fallback() -> None:
    model = StructuredFake(RuntimeError("model down"))
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=ModelUpdateDetector(model))
    mem.remember("lunch with the CFO on friday", namespace=NS, now=T0)
    mem.remember("lunch with the CFO on friday", namespace=NS, now=T0 + WEEK)
    assert len(mem.recall("lunch CFO", namespace=NS, now=T0 + 2 * WEEK)) == 2
