"""Implicit signals through the graph and the run log: answered clarifications, corrections in
the next turn, rephrases after a refusal, agent failures and tool errors; each stored with the
run it came from, and each (routing ones) turned into evidence with its source."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.improve.proposals import evidence_from_log
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog, logged_invoke
from nova_graph.signals import correction_text
from nova_graph.testing import FunctionChatModel, TableRouter

WRONG = "what is 17 times 23 on the clock"
CORRECTION = "no, I meant calculate 17 times 23"
REFUSED = "the hour please"
REPHRASED = "what time is it"
AMBIGUOUS = "time or sums"
BAD_SUM = "calculate the impossible"
EXPLODE = "what time is it on the broken clock"
TABLE = {
    EXPLODE: RouteDecision(agents=["clock"], confidence=0.9),
    WRONG: RouteDecision(agents=["clock"], scores={"clock": 0.6}, confidence=0.9),
    "calculate 17 times 23": RouteDecision(agents=["math"], scores={"math": 0.9}, confidence=0.9),
    CORRECTION: RouteDecision(agents=["math"], scores={"math": 0.9}, confidence=0.9),
    REPHRASED: RouteDecision(agents=["clock"], scores={"clock": 0.9}, confidence=0.95),
    AMBIGUOUS: RouteDecision(agents=["clock", "math"], ambiguous=True),
    BAD_SUM: RouteDecision(agents=["math"], confidence=0.9),
}


def _model(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
    last = messages[-1]
    if EXPLODE in str(last.content):
        raise RuntimeError("the clock model is down")
    if isinstance(last, ToolMessage):
        return "done"
    if tools and BAD_SUM in str(last.content) and any(t["name"] == "calculate" for t in tools):
        call = {"name": "calculate", "args": {"expression": "1 +* ("}, "id": "c1"}
        return AIMessage(content="", tool_calls=[call])
    return "ok"


@pytest.fixture()
def graph(small_roster: Roster, data_dir: Path) -> Any:
    return build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=_model),
        data_dir=data_dir,
        checkpointer=InMemorySaver(),
    )


@pytest.fixture()
def log(data_dir: Path) -> RunLog:
    return RunLog(data_dir / "runs.sqlite")


def _say(graph: Any, log: RunLog, payload: Any, thread: str) -> str:
    if isinstance(payload, str):
        payload = {"messages": [{"role": "user", "content": payload}]}
    _, run_id = logged_invoke(graph, payload, {"configurable": {"thread_id": thread}}, log)
    return run_id


def test_a_correction_in_the_next_turn_labels_the_previous_run(graph: Any, log: RunLog) -> None:
    thread = uuid.uuid4().hex
    first = _say(graph, log, WRONG, thread)
    second = _say(graph, log, CORRECTION, thread)
    [sig] = log.signals(kinds={"correction"})
    assert (sig.run_id, sig.agent, sig.source_run) == (first, "math", second)
    assert sig.detail["was"] == "clock"
    [e] = evidence_from_log(log)
    assert (e.text, e.predicted, e.expected, e.source) == (WRONG, "clock", "math", "correction")


def test_a_correction_on_another_thread_labels_nothing(graph: Any, log: RunLog) -> None:
    _say(graph, log, WRONG, uuid.uuid4().hex)
    _say(graph, log, CORRECTION, uuid.uuid4().hex)
    assert log.signals(kinds={"correction", "rephrase"}) == []


def test_a_rephrase_after_a_refusal_is_a_low_weight_example(graph: Any, log: RunLog) -> None:
    thread = uuid.uuid4().hex
    refused = _say(graph, log, REFUSED, thread)
    assert log.get(refused).status == "out_of_scope"
    again = _say(graph, log, REPHRASED, thread)
    [sig] = log.signals(kinds={"rephrase"})
    assert (sig.run_id, sig.agent, sig.source_run) == (refused, "clock", again)
    [e] = evidence_from_log(log)
    assert (e.text, e.expected, e.source) == (REFUSED, "clock", "rephrase")
    assert e.weight < 1.0


def test_an_answered_clarification_is_recorded_as_a_signal(graph: Any, log: RunLog) -> None:
    thread = uuid.uuid4().hex
    _say(graph, log, AMBIGUOUS, thread)
    answered = _say(graph, log, Command(resume="math"), thread)
    [sig] = log.signals(kinds={"clarification"})
    assert (sig.run_id, sig.agent, sig.source_run) == (answered, "math", answered)
    [e] = evidence_from_log(log)
    assert (e.text, e.expected, e.source) == (AMBIGUOUS, "math", "clarification")


def test_a_tool_error_is_recorded_per_agent_with_tool_and_arguments(
    graph: Any, log: RunLog
) -> None:
    run_id = _say(graph, log, BAD_SUM, uuid.uuid4().hex)
    [sig] = log.signals(kinds={"tool_error"})
    assert (sig.run_id, sig.agent, sig.source_run) == (run_id, "math", run_id)
    assert sig.detail["tool"] == "calculate"
    assert sig.detail["args"] == {"expression": "1 +* ("}
    assert evidence_from_log(log) == []  # failures feed diagnostics, not routing


def test_an_agent_failure_is_recorded_for_that_agent(graph: Any, log: RunLog) -> None:
    run_id = _say(graph, log, EXPLODE, uuid.uuid4().hex)
    [sig] = log.signals(kinds={"agent_failure"})
    assert (sig.run_id, sig.agent) == (run_id, "clock")
    assert "clock model is down" in sig.detail["message"]


def test_an_explicit_rating_outranks_an_implicit_signal(graph: Any, log: RunLog) -> None:
    thread = uuid.uuid4().hex
    first = _say(graph, log, WRONG, thread)
    _say(graph, log, CORRECTION, thread)
    log.add_feedback(first, "bad", should_be="words")
    [e] = evidence_from_log(log)
    assert (e.expected, e.source) == ("words", "feedback")


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("no, I meant the invoices", "the invoices"),
        ("I meant the stock levels", "the stock levels"),
        ("not that, I want the calendar", "the calendar"),
        ("what I meant was the backup", "the backup"),
        ("no thanks", None),
        ("show me the invoices", None),
    ],
)
def test_correction_text_finds_what_was_meant(text: str, meant: str | None) -> None:
    assert correction_text(text) == meant
