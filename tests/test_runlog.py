"""The run log: real graph runs are recorded with routing, agents, tools; feedback attaches."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from nova_app import build_nova_graph, nova_roster
from nova_app.cli import main
from nova_graph.errors import RunLogError
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog, logged_invoke
from nova_graph.testing import TableRouter

TIME_Q = "what time is it"
OOS_Q = "book me a flight to Lisbon"


@pytest.fixture()
def graph(small_roster: Roster, offline_model: Any, data_dir: Path) -> Any:
    table = {TIME_Q: RouteDecision(agents=["clock"], scores={"clock": 0.91, "math": 0.2})}
    return build_nova_graph(
        roster=small_roster, router=TableRouter(table), model=offline_model, data_dir=data_dir
    )


@pytest.fixture()
def runlog(data_dir: Path) -> RunLog:
    return RunLog(data_dir / "runs.sqlite")


def _ask(graph: Any, runlog: RunLog, text: str) -> tuple[dict[str, Any], str]:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return logged_invoke(graph, {"messages": [{"role": "user", "content": text}]}, config, runlog)


def test_real_graph_run_is_logged_with_route_scores_agent_tools_and_answer(
    graph: Any, runlog: RunLog
) -> None:
    state, run_id = _ask(graph, runlog, TIME_Q)
    run = runlog.get(run_id)
    assert run.request == TIME_Q
    assert run.routes == ["clock"]
    assert run.decision["scores"]["clock"] == pytest.approx(0.91)
    assert [a.agent for a in run.agents] == ["clock"]
    assert [t.name for t in run.agents[0].tool_calls] == ["current_time"]
    assert run.agents[0].tool_calls[0].ok
    assert run.answer == state["messages"][-1].content
    assert run.status == "ok"
    assert run.latency_ms > 0
    assert run.model_calls == state["results"]["clock"]["model_calls"] >= 1


def test_out_of_scope_run_is_logged_with_no_route(graph: Any, runlog: RunLog) -> None:
    _, run_id = _ask(graph, runlog, OOS_Q)
    run = runlog.get(run_id)
    assert run.routes == [] and run.top_agent is None
    assert run.status == "out_of_scope"


def test_run_log_file_is_readable_by_the_user_only(runlog: RunLog) -> None:
    assert stat.S_IMODE(runlog.path.stat().st_mode) == 0o600


def test_feedback_with_should_be_names_the_correct_agent(graph: Any, runlog: RunLog) -> None:
    _, run_id = _ask(graph, runlog, TIME_Q)
    runlog.add_feedback(run_id, "bad", should_be="math", comment="wanted arithmetic")
    run = runlog.get(run_id)
    assert [(f.verdict, f.should_be, f.comment) for f in run.feedback] == [
        ("bad", "math", "wanted arithmetic")
    ]
    assert run.correct_agent == "math"


def test_good_feedback_confirms_the_top_route(graph: Any, runlog: RunLog) -> None:
    _, run_id = _ask(graph, runlog, TIME_Q)
    runlog.add_feedback(run_id, "good")
    assert runlog.get(run_id).correct_agent == "clock"


def test_feedback_on_unknown_run_is_rejected_and_nothing_is_written(runlog: RunLog) -> None:
    with pytest.raises(RunLogError, match="no run 'nope'"):
        runlog.add_feedback("nope", "good")
    assert runlog.runs(with_feedback_only=True) == []


@pytest.mark.parametrize(
    ("verdict", "should_be", "match"),
    [
        ("meh", None, "'good' or 'bad'"),
        ("good", "math", "only makes sense with 'bad'"),
        ("bad", "pilot", "no agent named 'pilot'"),
    ],
)
def test_invalid_feedback_is_rejected(
    graph: Any, runlog: RunLog, verdict: str, should_be: str | None, match: str
) -> None:
    _, run_id = _ask(graph, runlog, TIME_Q)
    with pytest.raises(RunLogError, match=match):
        runlog.add_feedback(run_id, verdict, should_be=should_be, known_agents=["clock", "math"])
    assert runlog.get(run_id).feedback == []


def test_record_rejects_a_state_without_request(runlog: RunLog) -> None:
    with pytest.raises(RunLogError, match="no request text"):
        runlog.record({}, 1.0)
    assert len(runlog) == 0


def test_nova_feedback_command_records_feedback(
    graph: Any, runlog: RunLog, data_dir: Path, capsys: Any
) -> None:
    _, run_id = _ask(graph, runlog, TIME_Q)
    agent = nova_roster().names[-1]  # feedback is checked against the active (packaged) roster
    code = main(["feedback", run_id, "bad", "--should-be", agent, "--data-dir", str(data_dir)])
    assert code == 0, capsys.readouterr().err
    assert "feedback recorded" in capsys.readouterr().out
    assert runlog.get(run_id).correct_agent == agent
