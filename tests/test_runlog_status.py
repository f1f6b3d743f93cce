"""The run log records every turn with its real status: interrupts, approvals, tool failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.types import Interrupt

from nova_app import build_nova_graph
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog, logged_invoke, record_from_state
from nova_graph.testing import FunctionChatModel, TableRouter

AMBIGUOUS = "time or sums"
BAD_SUM = "calculate the impossible"
TABLE = {
    AMBIGUOUS: RouteDecision(agents=["clock", "math"], ambiguous=True),
    BAD_SUM: RouteDecision(agents=["math"]),
}


def _model(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
    if isinstance(messages[-1], ToolMessage):
        return "the calculator failed"
    if tools:
        call = {"name": "calculate", "args": {"expression": "1 +* ("}, "id": "c1"}
        return AIMessage(content="", tool_calls=[call])
    return "ok"


def _turn(roster: Roster, data_dir: Path, text: str) -> tuple[RunLog, str]:
    graph = build_nova_graph(
        roster=roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=_model),
        data_dir=data_dir,
    )
    log = RunLog(data_dir / "runs.sqlite")
    _, run_id = logged_invoke(
        graph,
        {"messages": [{"role": "user", "content": text}]},
        {"configurable": {"thread_id": text}},
        log,
    )
    return log, run_id


def test_a_turn_stopped_at_a_question_is_logged_with_the_question(
    small_roster: Roster, data_dir: Path
) -> None:
    log, run_id = _turn(small_roster, data_dir, AMBIGUOUS)
    record = log.get(run_id)
    assert record.status == "interrupted"
    assert record.pending and "Did you mean" in record.pending[0]


def test_a_tool_error_marks_the_agent_and_the_run_failed(
    small_roster: Roster, data_dir: Path
) -> None:
    log, run_id = _turn(small_roster, data_dir, BAD_SUM)
    record = log.get(run_id)
    assert not record.agents[0].tool_calls[0].ok
    assert record.agents[0].status == "failed"
    assert record.status == "failed"


def test_a_pending_approval_is_logged_as_waiting_approval() -> None:
    question = "Approve: set stock of SP-1001 to 0?"
    state = {
        "request": "zero the stock",
        "routes": ["stock"],
        "__interrupt__": [Interrupt(value={"type": "approval", "question": question})],
    }
    record = record_from_state(state, 1.0)
    assert record.status == "waiting_approval"
    assert record.pending == [question]
    assert record.answer == ""
