"""System-prompt rewrites from tool-error diagnostics, validated by replaying held-out failed
requests through the real agent and tools, with a model on a local OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nova_app import build_nova_graph
from nova_graph.improve.diagnose import AgentDiagnosis, ToolDiagnosis
from nova_graph.improve.prompts import rewrite_prompt
from nova_graph.models import OfflineChatModel, default_model
from nova_graph.roster import Roster
from tests.support.openai_server import LocalOpenAIServer, configure_env, tool_call

RULE = "Write calculator expressions with digits and operators only, like 17*23."
FAILED = ["what is 17 times 23", "compute 6 times 7", "what is 9 times 9", "add 2 and 2"]


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    messages = body["messages"]
    if "You maintain the system prompt" in str(messages[-1]["content"]):
        return {"content": f"You calculate. {RULE}"}
    if messages[-1]["role"] == "tool":
        return {"content": f"result: {messages[-1]['content']}"}
    follows_rule = RULE in str(messages[0]["content"])
    expression = "6*7" if follows_rule else "six times seven"
    return {"tool_calls": [tool_call("calculate", {"expression": expression})]}


@pytest.fixture()
def model(monkeypatch: pytest.MonkeyPatch) -> Any:
    with LocalOpenAIServer(_reply, max_requests=40) as srv:
        configure_env(monkeypatch, srv)
        yield default_model()


DIAGNOSIS = AgentDiagnosis(
    agent="math",
    runs=6,
    failed_runs=4,
    tools=[
        ToolDiagnosis(
            tool="calculate",
            calls=6,
            errors=4,
            failing_args={"expression": 4},
            errors_seen=["cannot evaluate 'six times seven'"],
        )
    ],
    failed_requests=FAILED,
)


def test_a_rewrite_that_stops_the_tool_errors_on_replay_is_kept(
    model: Any, small_roster: Roster, tmp_path: Path
) -> None:
    rewrite = rewrite_prompt(
        DIAGNOSIS, small_roster, model, data_dir=tmp_path, build=build_nova_graph
    )
    assert rewrite is not None and rewrite.kept
    assert RULE in rewrite.new_prompt
    assert (rewrite.replayed, rewrite.failed_before, rewrite.failed_after) == (2, 2, 0)
    assert "2 failed with the old prompt, 0 with the new one" in rewrite.reason


def test_no_rewrite_with_the_offline_model(small_roster: Roster) -> None:
    assert rewrite_prompt(DIAGNOSIS, small_roster, OfflineChatModel()) is None


def test_a_rewrite_that_does_not_help_on_replay_is_not_kept(
    monkeypatch: pytest.MonkeyPatch, small_roster: Roster, tmp_path: Path
) -> None:
    def vague(body: dict[str, Any]) -> dict[str, Any]:
        if "You maintain the system prompt" in str(body["messages"][-1]["content"]):
            return {"content": "You calculate. Be careful with sums."}
        return _reply(body)

    with LocalOpenAIServer(vague, max_requests=40) as srv:
        configure_env(monkeypatch, srv)
        rewrite = rewrite_prompt(
            DIAGNOSIS, small_roster, default_model(), data_dir=tmp_path, build=build_nova_graph
        )
    assert rewrite is not None and not rewrite.kept
    assert (rewrite.failed_before, rewrite.failed_after) == (2, 2)
    assert rewrite.reason.endswith("not kept")
