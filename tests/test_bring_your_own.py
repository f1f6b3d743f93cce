"""A user's own families, function tools, import-path tools and graphs become agents."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command

from nova_graph import AgentSpec, RosterError, build_graph
from nova_graph.models import OfflineChatModel
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter
from tests.support.household import fitness_graph, log_expense

BUDGET = "spent 12.50 on groceries"


def _budget(tools: list[object]) -> AgentSpec:
    return AgentSpec(
        name="budget",
        family="home",
        description="Logs household expenses.",
        examples=[BUDGET],
        system_prompt="You log expenses with log_expense.",
        tools=tools,
    )


def _router(agent: str) -> TableRouter:
    return TableRouter({BUDGET: RouteDecision(agents=[agent], scores={agent: 1.0})})


def _call_log_expense(messages: list, tools: list) -> AIMessage:
    if any(m.type == "tool" for m in messages):
        return AIMessage(f"done: {messages[-1].content}")
    call = {"name": "log_expense", "args": {"amount": 12.5, "what": "groceries"}, "id": "c1"}
    return AIMessage("", tool_calls=[call])


def _run(roster: Roster, router: TableRouter, **kw: object) -> dict:
    graph = build_graph(
        roster=roster,
        router=router,
        checkpointer=False,
        model=FunctionChatModel(fn=_call_log_expense),
        **kw,
    )
    return graph.invoke({"messages": [HumanMessage(BUDGET)]})


@pytest.mark.parametrize(
    "tool_ref", [log_expense, "log_expense", "tests.support.household:log_expense"]
)
def test_a_function_tool_by_object_registry_name_or_import_path_is_called(tool_ref: object) -> None:
    extra = {"tools": [log_expense]} if tool_ref == "log_expense" else {}
    out = _run(Roster([_budget([tool_ref])]), _router("budget"), **extra)
    result = out["results"]["budget"]
    assert [c["name"] for c in result["tool_calls"]] == ["log_expense"]
    assert result["tool_calls"][0]["output"] == "logged 12.50 for groceries"


def test_each_agent_gets_only_its_own_tools() -> None:
    seen: list[list[str]] = []

    def record(messages: list, tools: list) -> str:
        seen.append(sorted(t["name"] for t in tools))
        return "ok"

    def noop() -> str:
        """Does nothing."""
        return ""

    other = _budget([noop]).model_copy(update={"name": "other"})
    graph = build_graph(
        roster=Roster([_budget([log_expense]), other]),
        router=_router("budget"),
        checkpointer=False,
        model=FunctionChatModel(fn=record),
    )
    graph.invoke({"messages": [HumanMessage(BUDGET)]})
    assert seen == [["log_expense"]]


def test_unknown_tool_name_names_the_agent_and_the_fix() -> None:
    with pytest.raises(RosterError, match=r"agent 'budget'.*unknown tool 'teleport'.*tools=\["):
        _run(Roster([_budget(["teleport"])]), _router("budget"))


def test_import_path_that_does_not_import_names_the_agent() -> None:
    with pytest.raises(RosterError, match=r"agent 'budget'.*'nowhere\.at_all:x' does not import"):
        _run(Roster([_budget(["nowhere.at_all:x"])]), _router("budget"))


def test_import_path_to_a_missing_attribute_names_it() -> None:
    with pytest.raises(RosterError, match=r"agent 'budget'.*has no attribute 'nope'"):
        _run(Roster([_budget(["tests.support.household:nope"])]), _router("budget"))


def test_a_graph_without_a_name_is_refused_with_the_fix() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("x", lambda s: {"messages": [AIMessage("hi")]})
    builder.add_edge(START, "x")
    with pytest.raises(RosterError, match=r"no name of its own.*compile\(name="):
        AgentSpec.from_graph(builder.compile(), description="Says hi.", examples=["hi"])


def test_a_graph_agent_interrupts_reach_the_user_and_resume_in_place() -> None:
    fitness = AgentSpec.from_graph(
        fitness_graph, description="Logs workouts.", examples=["log my 5k run"], family="health"
    )
    graph = build_graph(
        roster=Roster([_budget([log_expense])]),
        agents=[fitness],
        router=TableRouter({"log my 5k run": RouteDecision(agents=["fitness_log"])}),
        checkpointer=InMemorySaver(),
        model=OfflineChatModel(),
    )
    config = {"configurable": {"thread_id": "t1"}}
    first = graph.invoke({"messages": [HumanMessage("log my 5k run")]}, config)
    assert first["__interrupt__"][0].value["question"] == "Log this workout?"
    done = graph.invoke(Command(resume="yes"), config)
    assert done["results"]["fitness_log"]["answer"] == "workout logged: yes"
    assert done["results"]["fitness_log"]["status"] == "ok"


def test_a_graph_agent_is_declared_by_import_path_in_a_roster_file() -> None:
    roster = Roster.from_data(
        {
            "agents": [
                {
                    "name": "fitness_log",
                    "family": "health",
                    "description": "Logs workouts.",
                    "examples": ["log my 5k run"],
                    "graph": "tests.support.household:fitness_graph",
                }
            ]
        }
    )
    graph = build_graph(
        roster=roster,
        router=TableRouter({"log my 5k run": RouteDecision(agents=["fitness_log"])}),
        checkpointer=InMemorySaver(),
        model=OfflineChatModel(),
    )
    out = graph.invoke(
        {"messages": [HumanMessage("log my 5k run")]}, {"configurable": {"thread_id": "t"}}
    )
    assert out["__interrupt__"][0].value["type"] == "confirm"


def test_an_agent_model_name_switches_the_name_on_the_build_graph_model() -> None:
    from langchain_openai import ChatOpenAI

    from nova_graph.models import resolve_model

    default = ChatOpenAI(model="base", api_key="sk-test-000000", base_url="http://127.0.0.1:9/v1")
    chosen = resolve_model("openai:bigger", default)
    assert isinstance(chosen, ChatOpenAI)
    assert (chosen.model_name, chosen.openai_api_base) == ("bigger", "http://127.0.0.1:9/v1")
    offline = OfflineChatModel()
    assert resolve_model("bigger", offline) is offline
    assert resolve_model(None, default) is default


def test_an_unknown_model_provider_says_to_pass_a_model_object() -> None:
    from nova_graph.errors import ModelConfigError
    from nova_graph.models import resolve_model

    with pytest.raises(ModelConfigError, match="pass a chat model object"):
        resolve_model("anthropic:claude", OfflineChatModel())
