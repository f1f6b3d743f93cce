"""``nova runs`` and ``nova runs show`` on a run with a failure and a run stopped at a question;
a failed pipeline is a failed tool call in the run log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_app.cli import main
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog, logged_invoke
from nova_graph.testing import FunctionChatModel, TableRouter

AMBIGUOUS = "time or sums"
BAD_SUM = "calculate the impossible"
DEPLOY = "deploy the find a sign website"
TABLE = {
    AMBIGUOUS: RouteDecision(agents=["clock", "math"], ambiguous=True),
    BAD_SUM: RouteDecision(agents=["math"]),
    DEPLOY: RouteDecision(agents=["deployer"]),
}
ARGS = {"calculate": {"expression": "1 +* ("}, "deploy_site": {"site": DEPLOY}}


def _model(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
    if isinstance(messages[-1], ToolMessage):
        return "done"
    name = tools[0].get("function", tools[0])["name"]
    return AIMessage(content="", tool_calls=[{"name": name, "args": ARGS[name], "id": "c1"}])


def _log_runs(
    roster: Roster, data_dir: Path, *texts: str, approve: bool = False
) -> tuple[RunLog, list[str]]:
    graph = build_nova_graph(
        roster=roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=_model, report_usage=True),
        data_dir=data_dir,
    )
    log = RunLog(data_dir / "runs.sqlite")
    ids = []
    for t in texts:
        config: Any = {"configurable": {"thread_id": t}}
        state, run_id = logged_invoke(
            graph, {"messages": [{"role": "user", "content": t}]}, config, log
        )
        if approve and state.get("__interrupt__"):
            _, run_id = logged_invoke(graph, Command(resume=True), config, log)
        ids.append(run_id)
    return log, ids


def test_nova_runs_lists_and_filters_a_failed_and_an_interrupted_run(
    small_roster: Roster, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, (failed, asked) = _log_runs(small_roster, data_dir, BAD_SUM, AMBIGUOUS)
    assert main(["runs", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert failed in out and asked in out and "interrupted" in out and "failed" in out
    assert main(["runs", "--status", "failed", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert failed in out and asked not in out and "$" in out
    assert main(["runs", "--agent", "math", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert failed in out and asked not in out  # no agent ran before the question
    assert main(["runs", "--agent", "clock", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out == "no runs match\n"


def test_nova_runs_show_prints_the_tree_with_timings_and_failures(
    small_roster: Roster, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, (failed, asked) = _log_runs(small_roster, data_dir, BAD_SUM, AMBIGUOUS)
    assert main(["runs", "show", failed, "--data-dir", str(data_dir)]) == 0
    tree = capsys.readouterr().out.splitlines()
    assert tree[0].startswith(f"run {failed}") and "FAILED" in tree[0]
    assert tree[2].startswith("supervisor: route math")
    assert tree[3].startswith("├─ agent math  FAILED")
    assert [line.split()[2:4] for line in tree[4:7]] == [
        ["model", "nova-function"],
        ["model", "nova-function"],
        ["tool", "calculate"],
    ]
    assert "FAILED" in tree[6] and "TOOL ERROR" in tree[7]
    assert main(["runs", "show", asked, "--data-dir", str(data_dir)]) == 0
    shown = capsys.readouterr().out
    assert "INTERRUPTED" in shown and "waiting (interrupted): Did you mean" in shown
    assert main(["runs", "show", "nope", "--data-dir", str(data_dir)]) == 2


def test_a_failed_pipeline_is_a_failed_tool_call_and_a_failed_run(data_dir: Path) -> None:
    deployer = AgentSpec(
        name="deployer",
        family="pipeline",
        description="Deploys client websites.",
        examples=["deploy the website"],
        system_prompt="You deploy sites.",
        tools=["deploy_site"],
    )
    log, (run_id,) = _log_runs(Roster([deployer]), data_dir, DEPLOY, approve=True)
    record = log.get(run_id)
    call = record.agents[0].tool_calls[0]
    assert call.name == "deploy_site" and not call.ok and "FAILED" in call.output
    assert record.agents[0].status == "failed" and record.status == "failed"
