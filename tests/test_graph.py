"""The core graph: single route, Send fan-out and join, clarification, out of scope, scoping."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.models import OFFLINE_NOTICE
from nova_graph.roster import Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

TIME_Q = "what time is it"
MULTI_Q = "what time is it, and also count the words: alpha beta gamma"
AMBIGUOUS_Q = "the numbers thing"
OOS_Q = "book me a flight to Lisbon"

TABLE = {
    TIME_Q: RouteDecision(agents=["clock"], scores={"clock": 0.9}),
    MULTI_Q: RouteDecision(
        agents=["clock", "words"],
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=0.8),
            ClauseRoute(text="count the words: alpha beta gamma", agent="words", score=0.8),
        ],
    ),
    AMBIGUOUS_Q: RouteDecision(agents=["math", "stock"], ambiguous=True),
}


def _ask(graph: Any, text: str, thread: str | None = None) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread or uuid.uuid4().hex}}
    return graph.invoke({"messages": [{"role": "user", "content": text}]}, config)


@pytest.fixture()
def graph(small_roster: Roster, offline_model: Any, data_dir: Path) -> Any:
    return build_nova_graph(
        roster=small_roster, router=TableRouter(TABLE), model=offline_model, data_dir=data_dir
    )


def test_single_route_runs_one_agent_and_answers_with_its_tool(graph: Any) -> None:
    state = _ask(graph, TIME_Q)
    assert state["routes"] == ["clock"]
    assert list(state["results"]) == ["clock"]
    result = state["results"]["clock"]
    assert [c["name"] for c in result["tool_calls"]] == ["current_time"]
    assert result["tool_calls"][0]["output"] in state["messages"][-1].content
    assert state["failures"] == []


def test_offline_answer_says_no_language_model_is_configured(graph: Any) -> None:
    state = _ask(graph, TIME_Q)
    assert OFFLINE_NOTICE in state["messages"][-1].content


def test_multi_domain_request_fans_out_to_both_agents_and_joins_their_answers(graph: Any) -> None:
    state = _ask(graph, MULTI_Q)
    assert state["routes"] == ["clock", "words"]
    assert set(state["results"]) == {"clock", "words"}
    words = state["results"]["words"]
    assert words["request"] == "count the words: alpha beta gamma"
    assert words["tool_calls"][0]["output"].startswith("3 words")
    answer = state["messages"][-1].content
    assert "3 words" in answer
    assert state["results"]["clock"]["tool_calls"][0]["output"] in answer
    assert answer.count(OFFLINE_NOTICE) == 1


def test_fan_out_uses_send_so_both_agents_run_in_the_same_step(graph: Any) -> None:
    config = {"configurable": {"thread_id": "fanout"}}
    steps = [
        set(update)
        for update in graph.stream(
            {"messages": [{"role": "user", "content": MULTI_Q}]}, config, stream_mode="updates"
        )
    ]
    assert steps[0] == {"supervisor"}
    assert {"clock", "words"} <= set().union(*steps[1:-1])
    assert steps[-1] == {"compose"}


def test_ambiguous_request_interrupts_with_a_clarifying_question(graph: Any) -> None:
    state = _ask(graph, AMBIGUOUS_Q, thread="amb")
    (pending,) = state["__interrupt__"]
    assert pending.value["type"] == "clarification"
    assert [o["agent"] for o in pending.value["options"]] == ["math", "stock"]
    assert "Does arithmetic" in pending.value["question"]
    assert "results" not in state or not state["results"]


def test_clarification_resumes_with_the_chosen_agent(graph: Any) -> None:
    config = {"configurable": {"thread_id": "amb-resume"}}
    graph.invoke({"messages": [{"role": "user", "content": AMBIGUOUS_Q}]}, config)
    state = graph.invoke(Command(resume="stock"), config)
    assert state["routes"] == ["stock"]
    assert state["clarification"]["answer"] == "stock"
    assert "stock" in state["results"]


def test_clarification_accepts_the_option_number(graph: Any) -> None:
    config = {"configurable": {"thread_id": "amb-number"}}
    graph.invoke({"messages": [{"role": "user", "content": AMBIGUOUS_Q}]}, config)
    state = graph.invoke(Command(resume="1"), config)
    assert state["routes"] == ["math"]


def test_out_of_scope_request_gets_an_honest_refusal(graph: Any) -> None:
    state = _ask(graph, OOS_Q)
    assert state["routes"] == []
    assert state.get("results") == {}
    assert "outside what my agents cover" in state["messages"][-1].content


def test_out_of_scope_can_go_to_the_general_agent(
    small_roster: Roster, offline_model: Any, data_dir: Path
) -> None:
    graph = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=offline_model,
        data_dir=data_dir,
        out_of_scope="general",
    )
    state = _ask(graph, OOS_Q)
    assert state["routes"] == ["clock"]


def test_a_new_turn_starts_with_fresh_results(graph: Any) -> None:
    _ask(graph, MULTI_Q, thread="turns")
    state = _ask(graph, TIME_Q, thread="turns")
    assert list(state["results"]) == ["clock"]
    assert len([m for m in state["messages"] if m.type == "human"]) == 2


def test_agent_cannot_call_another_agents_tool(small_roster: Roster, data_dir: Path) -> None:
    """The clock agent's model asks for `word_count` (the words agent's tool): it never runs."""

    def greedy(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content="done")
        return AIMessage(
            content="",
            tool_calls=[{"name": "word_count", "args": {"text": "a b c"}, "id": "x1"}],
        )

    graph = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=greedy),
        data_dir=data_dir,
    )
    state = _ask(graph, TIME_Q)
    (call,) = state["results"]["clock"]["tool_calls"]
    assert call["name"] == "word_count"
    assert call["ok"] is False
    assert "3 words" not in call["output"]
    assert "not a valid tool" in call["output"] or "TOOL ERROR" in call["output"]


def test_each_agent_is_offered_only_its_own_tools(small_roster: Roster, data_dir: Path) -> None:
    seen: dict[str, list[str]] = {}

    def record(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        seen[messages[0].content] = sorted(t["name"] for t in tools)
        return "ok"

    graph = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=record),
        data_dir=data_dir,
    )
    _ask(graph, MULTI_Q)
    assert seen == {
        "You tell the time.": ["current_time"],
        "You analyse text.": ["extract_tasks", "word_count"],
    }
