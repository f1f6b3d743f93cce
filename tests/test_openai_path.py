"""The OpenAI path, end to end against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from nova_app import build_nova_graph
from nova_graph.models import OFFLINE_NOTICE, OfflineChatModel, default_model, describe_model
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import TableRouter
from tests.support.openai_server import LocalOpenAIServer, tool_call

REQUEST = "how many words: one two three four"


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    last = body["messages"][-1]
    if last["role"] == "tool":
        return {"content": f"The tool said: {last['content']}"}
    return {"tool_calls": [tool_call("word_count", {"text": "one two three four"})]}


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    with LocalOpenAIServer(_reply, max_requests=20) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("NOVA_MODEL", "local-test-model")
        yield srv


def test_without_an_api_key_the_default_model_is_the_offline_one() -> None:
    model = default_model()
    assert isinstance(model, OfflineChatModel)
    assert "offline" in describe_model(model)


def test_with_an_api_key_the_default_model_is_chat_openai_at_the_base_url(server: Any) -> None:
    model = default_model()
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "local-test-model"
    assert "sk-test" not in describe_model(model)


def test_graph_runs_an_agent_through_an_openai_compatible_server(
    server: Any, small_roster: Roster, data_dir: Path
) -> None:
    router = TableRouter({REQUEST: RouteDecision(agents=["words"])})
    graph = build_nova_graph(roster=small_roster, router=router, data_dir=data_dir)
    state = graph.invoke(
        {"messages": [{"role": "user", "content": REQUEST}]}, {"configurable": {"thread_id": "o"}}
    )
    result = state["results"]["words"]
    assert result["model_calls"] == 2
    assert result["tool_calls"][0]["output"].startswith("4 words")
    assert state["messages"][-1].content == "The tool said: 4 words, 18 characters, 1 sentences"
    assert OFFLINE_NOTICE not in state["messages"][-1].content

    first, second = server.requests
    assert first["path"] == "/v1/chat/completions"
    assert first["model"] == "local-test-model"
    assert first["headers"]["authorization"] == "Bearer sk-test-not-a-real-key"
    assert first["messages"][0] == {"role": "system", "content": "You analyse text."}
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["extract_tasks", "word_count"]
    assert second["messages"][-1]["role"] == "tool"
