"""The language-model fallback of SemanticRouter, over a real OpenAI-compatible loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from nova_graph.routing import SemanticRouter
from tests.support.openai_server import LocalOpenAIServer, tool_call
from tests.test_routing import BagOfWordsEncoder

EXAMPLES = {
    "billing": ["reset my account password", "update my billing address"],
    "support": ["reset my account password", "my app keeps crashing"],
}


def answer_with(agent: str | None) -> Any:
    """A server reply function: structured output naming ``agent`` (JSON or a tool call)."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        args = {"agent": agent, "reason": "test"}
        if body.get("tools"):
            return {"tool_calls": [tool_call(body["tools"][0]["function"]["name"], args)]}
        return {"content": json.dumps(args)}

    return reply


@pytest.fixture()
def server_for(request: pytest.FixtureRequest) -> Iterator[LocalOpenAIServer]:
    with LocalOpenAIServer(answer_with(request.param), max_requests=5) as server:
        yield server


def router_with(server: LocalOpenAIServer) -> SemanticRouter:
    model = ChatOpenAI(
        model="test-model", base_url=server.base_url, api_key="test", max_retries=0, timeout=10
    )
    return SemanticRouter.from_examples(EXAMPLES, encoder=BagOfWordsEncoder(), model=model)


@pytest.mark.parametrize("server_for", ["support"], indirect=True)
def test_ambiguous_request_is_settled_by_one_model_call(server_for: LocalOpenAIServer) -> None:
    d = router_with(server_for).route("reset my account password")
    assert d.agents == ["support"]
    assert d.method == "model" and d.model_calls == 1
    assert len(server_for.requests) == 1
    prompt = json.dumps(server_for.requests[0]["messages"])
    assert "billing" in prompt and "support" in prompt


@pytest.mark.parametrize("server_for", ["billing"], indirect=True)
def test_confident_request_spends_no_model_call(server_for: LocalOpenAIServer) -> None:
    d = router_with(server_for).route("update my billing address")
    assert d.agents == ["billing"] and d.model_calls == 0 and d.method == "embedding"
    assert server_for.requests == []


@pytest.mark.parametrize("server_for", [None], indirect=True)
def test_model_saying_none_fits_makes_request_out_of_scope(server_for: LocalOpenAIServer) -> None:
    d = router_with(server_for).route("reset my account password")
    assert d.out_of_scope and d.agents == [] and d.model_calls == 1


@pytest.mark.parametrize("server_for", ["payroll"], indirect=True)
def test_model_naming_a_non_candidate_is_not_trusted(server_for: LocalOpenAIServer) -> None:
    d = router_with(server_for).route("reset my account password")
    assert d.agents == [] and d.out_of_scope
