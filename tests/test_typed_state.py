"""Graph state stays typed: the routing decision is a typed record, offline answers a flag."""

from __future__ import annotations

import typing

from langchain_core.messages import HumanMessage

from nova_graph import AgentSpec, build_graph
from nova_graph.models import OFFLINE_NOTICE, OfflineChatModel
from nova_graph.roster import Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.state import ClauseRecord, DecisionRecord
from nova_graph.testing import FunctionChatModel, TableRouter

REQUEST = "hello there"


def _run(model: object) -> dict:
    agent = AgentSpec(
        name="greeter",
        family="home",
        description="Greets people.",
        examples=[REQUEST],
        system_prompt="You greet.",
    )
    router = TableRouter({REQUEST: RouteDecision(agents=["greeter"], scores={"greeter": 1.0})})
    graph = build_graph(roster=Roster([agent]), router=router, checkpointer=False, model=model)
    return graph.invoke({"messages": [HumanMessage(REQUEST)]})


def test_decision_record_has_exactly_the_route_decision_fields() -> None:
    assert set(typing.get_type_hints(DecisionRecord)) == set(RouteDecision.model_fields)
    assert set(typing.get_type_hints(ClauseRecord)) == set(ClauseRoute.model_fields)


def test_state_decision_is_the_route_decision_as_a_record() -> None:
    out = _run(OfflineChatModel())
    assert out["decision"]["agents"] == ["greeter"]
    assert RouteDecision.model_validate(out["decision"]).agents == ["greeter"]


def test_offline_answer_is_flagged_and_the_notice_shown_once() -> None:
    out = _run(OfflineChatModel())
    assert out["results"]["greeter"]["offline"] is True
    assert out["messages"][-1].content.count(OFFLINE_NOTICE) == 1


def test_a_model_quoting_the_notice_is_not_taken_for_the_offline_model() -> None:
    out = _run(FunctionChatModel(fn=lambda messages, tools: f"I read: {OFFLINE_NOTICE}"))
    assert out["results"]["greeter"]["offline"] is False
    assert out["messages"][-1].content == f"I read: {OFFLINE_NOTICE}"
