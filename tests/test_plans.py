"""Plans through the compiled graph: chained, parallel, mixed, failures, approvals, limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from nova_app import build_nova_graph, nova_roster
from nova_graph import load_roster
from nova_graph.budget import Budget
from nova_graph.errors import PlanError
from nova_graph.models import OfflineChatModel
from nova_graph.planning import PlanPolicy, has_reference, plan_request, validate_plan
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.routing.decision import ClauseRoute, RouteDecision, Router
from nova_graph.routing.default import default_router
from nova_graph.state import PlanStep
from nova_graph.streaming import describe_update, stream_run
from nova_graph.testing import FunctionChatModel, TableRouter

ROOT = Path(__file__).resolve().parent.parent
SMALL = Path(__file__).parent / "data" / "roster_small.yaml"


@pytest.fixture(scope="module")
def router() -> Router:
    """The calibrated default router (cached in .nova-test-cache)."""
    return default_router(nova_roster())


def _graph(router: Router, data: Path, **kw: Any) -> Any:
    return build_nova_graph(
        router=router, model=OfflineChatModel(), data_dir=data, checkpointer=InMemorySaver(), **kw
    )


def _run(graph: Any, text: str, thread: str = "t") -> tuple[dict[str, Any], list[int]]:
    """Run to the end (approving every pause); also the superstep each agent task started in."""
    cfg = {"configurable": {"thread_id": thread}}
    payload: Any = {"messages": [("user", text)]}
    agent_steps: dict[str, int] = {}
    agents = set(nova_roster().names) if graph.name == "nova" else set()
    for _ in range(12):
        paused = False
        for item in graph.stream(payload, cfg, stream_mode="debug"):
            if item["type"] == "task" and item["payload"]["name"] in agents:
                agent_steps.setdefault(item["payload"]["name"], item["step"])
            if item["type"] == "task_result" and item["payload"].get("interrupts"):
                paused = True
        if not paused:
            break
        payload = Command(resume=True)
    state = graph.get_state(cfg).values
    return state, [agent_steps[s["agent"]] for s in state["plan"] if s["agent"] in agent_steps]


def test_reference_and_order_words_make_dependencies() -> None:
    assert has_reference("draft a chasing email to each of those customers")
    assert has_reference("raise a purchase order for any that are low")
    assert has_reference("translate the result into French")
    assert not has_reference("what time is it")
    assert not has_reference("count the words: alpha beta")
    decision = RouteDecision(
        agents=["a", "b", "c"],
        clauses=[
            ClauseRoute(text="list the parts", agent="a", score=1),
            ClauseRoute(text="check the weather", agent="b", score=1),
            ClauseRoute(text="email the team", agent="c", score=1),
        ],
    )
    text = "list the parts and also check the weather, then email the team"
    plan = plan_request(text, decision, ["a", "b", "c"], PlanPolicy())
    assert [s["depends_on"] for s in plan.steps] == [[], [], ["s1", "s2"]]
    assert not plan.unsure and plan.model_calls == 0


def test_chained_plan_passes_the_overdue_customers_to_the_drafter(
    router: Router, tmp_path: Path
) -> None:
    text = "find the overdue invoices and draft a chasing email to each of those customers"
    state, steps = _run(_graph(router, tmp_path), text)
    assert [(s["agent"], s["depends_on"]) for s in state["plan"]] == [
        ("erp_receivables", []),
        ("email_drafter", ["s1"]),
    ]
    assert steps[1] > steps[0]  # the drafter ran after receivables, not beside it
    drafter = state["results"]["email_drafter"]
    assert drafter["inputs"] == ["s1"]
    overdue = state["results"]["erp_receivables"]["tool_calls"][0]["output"]
    emails = [t for t in drafter["tool_calls"] if t["name"] == "email_template"]
    assert len(emails) >= 2
    for email in emails:  # each drafted for a customer named in the overdue list
        customer = email["output"].split("Hi ", 1)[1].split(",", 1)[0]
        assert f"| {customer} |" in overdue
    assert state["routing_model_calls"] == 0 and state["plan_model_calls"] == 0


def test_independent_steps_run_in_one_superstep(router: Router, tmp_path: Path) -> None:
    text = (
        "how many vacuum motors are on hand, and also detect which language this is in: "
        "danke für Ihre Bestellung"
    )
    state, steps = _run(_graph(router, tmp_path), text)
    assert [s["depends_on"] for s in state["plan"]] == [[], []]
    assert len(steps) == 2 and len(set(steps)) == 1
    assert all("inputs" not in r or r["inputs"] == [] for r in state["results"].values())


def test_mixed_plan_runs_two_in_parallel_then_the_dependent_step(
    router: Router, tmp_path: Path
) -> None:
    text = (
        "check stock of side brushes and list the open purchase orders, "
        "then draft an email to the supplier about them"
    )
    state, steps = _run(_graph(router, tmp_path), text)
    assert [(s["agent"], s["depends_on"]) for s in state["plan"]] == [
        ("erp_inventory", []),
        ("erp_purchasing", []),
        ("email_drafter", ["s1", "s2"]),
    ]
    assert steps[0] == steps[1] < steps[2]
    assert state["results"]["email_drafter"]["inputs"] == ["s1", "s2"]
    assert "s3 email_drafter after s1, s2: ran" in state["messages"][-1].content


def test_purchasing_gets_low_stock_parts_and_asks_approval_for_each(
    router: Router, tmp_path: Path
) -> None:
    text = "check stock of brush heads and raise a purchase order for any that are low"
    graph = _graph(router, tmp_path)
    cfg = {"configurable": {"thread_id": "po"}}
    out = graph.invoke({"messages": [("user", text)]}, cfg)
    assert "clarification" not in str(out["__interrupt__"][0].value.get("type"))
    asked = []
    while "__interrupt__" in out:
        value = out["__interrupt__"][0].value
        assert value["type"] == "approval"
        asked.append(value["change"]["args"]["part"])
        out = graph.invoke(Command(resume=True), cfg)
    stock = out["results"]["erp_inventory"]["tool_calls"][0]["output"]
    low = [line.split()[0] for line in stock.splitlines() if line.endswith("(low)")]
    assert asked == low and low
    made = [t for t in out["results"]["erp_purchasing"]["tool_calls"] if t["ok"]]
    assert len(made) == len(low) and all("Created purchase order" in t["output"] for t in made)


def _failing_clock(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
    if str(messages[0].content) == "You tell the time.":
        raise ValueError("clock is broken")
    return "done: " + str(messages[-1].content)


def test_upstream_failure_skips_dependents_and_independent_steps_finish(tmp_path: Path) -> None:
    text = "what time is it, then count the words in it; also calculate 2 + 2"
    decision = RouteDecision(
        agents=["clock", "words", "math"],
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=1),
            ClauseRoute(text="count the words in it", agent="words", score=1),
            ClauseRoute(text="calculate 2 + 2", agent="math", score=1),
        ],
    )
    graph = build_nova_graph(
        roster=load_roster(SMALL),
        router=TableRouter({text: decision}),
        model=FunctionChatModel(fn=_failing_clock),
        data_dir=tmp_path,
        checkpointer=InMemorySaver(),
        reliability=ReliabilityPolicy(max_attempts=1),
    )
    events = list(
        stream_run(graph, {"messages": [("user", text)]}, {"configurable": {"thread_id": "f"}})
    )
    state = graph.get_state({"configurable": {"thread_id": "f"}}).values
    status = state["plan_status"]
    assert status["s1"]["state"] == "failed"
    assert status["s2"] == {"state": "skipped", "reason": status["s2"]["reason"]}
    assert status["s2"]["reason"].startswith("not run: clock failed: ")
    assert status["s3"]["state"] == "ok" and "words" not in state["results"]
    answer = state["messages"][-1].content
    assert "s2 words after s1: skipped: not run: clock failed" in answer
    assert "s3 math: ran" in answer
    lines = [describe_update(e.node, e.data) for e in events if e.kind == "update"]
    assert any("plan: s1 clock [running]; s2 words<-s1 [pending]" in ln for ln in lines)
    assert any(ln.startswith("next_steps: s1 failed") for ln in lines)


def test_a_plan_over_the_limits_gets_an_honest_answer_and_runs_nothing(
    router: Router, tmp_path: Path
) -> None:
    text = "list the low stock parts, then raise purchase orders for them"
    for policy, limit in [
        (PlanPolicy(max_depth=1), "NOVA_MAX_PLAN_DEPTH"),
        (PlanPolicy(max_steps=1), "at most 1 steps (NOVA_MAX_PLAN_STEPS)"),
    ]:
        graph = _graph(router, tmp_path, planning=policy)
        cfg = {"configurable": {"thread_id": limit}}
        state = graph.invoke({"messages": [("user", text)]}, cfg)
        answer = state["messages"][-1].content
        assert answer.startswith("I did not run this request: ") and limit in answer
        assert state["plan"] == [] and not state.get("results") and state["routes"] == []
        assert [(f["agent"], f["error_type"]) for f in state["failures"]] == [
            ("planner", "PlanError")
        ]
        # the thread goes on: a request within the limits runs
        state = graph.invoke({"messages": [("user", "list the low stock parts")]}, cfg)
        assert state["results"]["erp_inventory"]["status"] == "ok" and not state["failures"]


def test_plan_limits_cycles_and_unknown_steps() -> None:
    with pytest.raises(PlanError, match="NOVA_MAX_PLAN_DEPTH"):
        validate_plan(
            [
                PlanStep(id="a", agent="x", request="r", depends_on=[]),
                PlanStep(id="b", agent="y", request="r", depends_on=["a"]),
            ],
            PlanPolicy(max_depth=1),
        )
    cyc = [
        PlanStep(id="a", agent="x", request="r", depends_on=["b"]),
        PlanStep(id="b", agent="y", request="r", depends_on=["a"]),
    ]
    with pytest.raises(PlanError, match="cycle"):
        validate_plan(cyc, PlanPolicy())
    with pytest.raises(PlanError, match="unknown step"):
        validate_plan([PlanStep(id="a", agent="x", request="r", depends_on=["z"])], PlanPolicy())


def _translator_run(router: Router, data: Path, text: str) -> tuple[dict[str, Any], list[int]]:
    """Run ``text``; the final state and the superstep each translator task ran in."""
    graph, cfg = _graph(router, data), {"configurable": {"thread_id": "tr"}}
    steps = [
        item["step"]
        for item in graph.stream({"messages": [("user", text)]}, cfg, stream_mode="debug")
        if item["type"] == "task" and item["payload"]["name"] == "translator"
    ]
    return graph.get_state(cfg).values, steps


def test_a_chain_of_two_steps_for_one_agent_runs_each_with_its_own_result(
    router: Router, tmp_path: Path
) -> None:
    text = "translate 'good morning' into French, then translate the result into German"
    state, supersteps = _translator_run(router, tmp_path, text)
    assert state["plan"] == [
        {"id": "s1", "agent": "translator", "request": "translate 'good morning' into French",
         "depends_on": []},
        {"id": "s2", "agent": "translator", "request": "translate the result into German",
         "depends_on": ["s1"]},
    ]  # fmt: skip
    assert len(supersteps) == 2 and supersteps[0] < supersteps[1]
    first, second = state["step_results"]["s1"], state["step_results"]["s2"]
    assert (first["request"], first["inputs"]) == ("translate 'good morning' into French", [])
    assert first["tool_calls"][0]["args"]["text"] == "good morning"
    assert (second["step"], second["inputs"]) == ("s2", ["s1"])
    assert state["results"]["translator"] == second  # by agent: its latest step
    answer = state["messages"][-1].content
    assert "**translator** (s1)" in answer and "**translator** (s2)" in answer
    assert "s2 translator after s1: ran" in answer


def test_two_independent_asks_to_one_agent_run_together_as_two_steps(
    router: Router, tmp_path: Path
) -> None:
    text = "translate 'good morning' into French; also translate 'thank you' into Spanish"
    state, supersteps = _translator_run(router, tmp_path, text)
    assert [(s["agent"], s["depends_on"]) for s in state["plan"]] == [
        ("translator", []),
        ("translator", []),
    ]
    assert len(supersteps) == 2 and len(set(supersteps)) == 1  # one superstep
    texts = [state["step_results"][s]["tool_calls"][0]["args"]["text"] for s in ("s1", "s2")]
    assert texts == ["good morning", "thank you"]
    assert state["plan_status"]["s1"]["state"] == state["plan_status"]["s2"]["state"] == "ok"


def test_a_sentence_break_without_a_joint_stays_one_step(tmp_path: Path) -> None:
    first, second = "translate my order email into German", "Please keep it formal"
    text = f"{first}. {second}."
    one = RouteDecision(agents=["translator"], clauses=[])
    table = {t: one.model_copy(update={"clauses": [ClauseRoute(text=t, agent="translator",
             score=1)]}) for t in (text, first, second)}  # fmt: skip
    graph = build_nova_graph(
        router=TableRouter(table), model=OfflineChatModel(), data_dir=tmp_path, checkpointer=False
    )
    state = graph.invoke({"messages": [("user", text)]})
    assert [(s["agent"], s["request"]) for s in state["plan"]] == [("translator", text)]
    assert not state.get("step_results")
    # with an explicit joint the same two asks are two steps of the translator
    joined = f"{first}, then {second.lower()}"
    table[joined] = table[text].model_copy(
        update={"clauses": [ClauseRoute(text=joined, agent="translator", score=1)]}
    )
    table[second.lower()] = table[second]
    state = graph.invoke({"messages": [("user", joined)]})
    assert [(s["agent"], s["depends_on"]) for s in state["plan"]] == [
        ("translator", []),
        ("translator", ["s1"]),
    ]


def test_fan_out_ablation_runs_everything_at_once(router: Router, tmp_path: Path) -> None:
    text = "list the low stock parts, then raise purchase orders for them"
    state, steps = _run(_graph(router, tmp_path, planning=PlanPolicy(enabled=False)), text)
    assert [s["depends_on"] for s in state["plan"]] == [[], []]
    assert len(set(steps)) == 1
    assert state["results"]["erp_purchasing"]["inputs"] == []


def test_approval_inside_a_plan_resumes_in_another_process_without_rerunning(
    tmp_path: Path,
) -> None:
    db, data = str(tmp_path / "cp.sqlite"), str(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def worker(mode: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "tests.plan_worker", mode, db, data],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    first = worker("start")
    assert first["paused"] and first["orders"] == first["orders"][:]
    before = list(first["orders"])
    assert first["plan_status"]["s1"]["state"] == "ok"
    assert first["plan_status"]["s2"]["state"] == "running"
    second = worker("resume")
    assert "erp_inventory" not in second["ran"] and "supervisor" not in second["ran"]
    assert second["plan_status"]["s2"]["state"] == "ok"
    assert second["inputs"]["erp_purchasing"] == ["s1"]
    new = second["orders"][len(before) :]
    assert new and len(new) == len(set(new))  # one order per low part, none twice
    assert second["pauses"] == len(new) - 1  # the first approval was the one asked in process 1


def test_a_configured_model_plans_only_when_the_rules_are_unsure() -> None:
    asked: list[str] = []

    def choose(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        asked.append(str(messages[-1].content))
        return 'Here: {"s2": [], "s3": ["s2"]}'

    decision = RouteDecision(
        agents=["a", "b", "c"],
        clauses=[
            ClauseRoute(text="list the parts", agent="a", score=1),
            ClauseRoute(text="show the orders", agent="b", score=1),
            ClauseRoute(text="translate it into French", agent="c", score=1),
        ],
    )
    model = FunctionChatModel(fn=choose)
    text = "list the parts and also show the orders, then translate it into French"
    plan = plan_request(text, decision, ["a", "b", "c"], PlanPolicy(), model=model)
    assert plan.model_calls == 1 and len(asked) == 1 and "translate it" in asked[0]
    assert [s["depends_on"] for s in plan.steps] == [[], [], ["s2"]]
    clear = "list the parts, then show the orders for them"
    two = RouteDecision(agents=["a", "b"], clauses=decision.clauses[:2])
    two.clauses[1].text = "show the orders for them"
    sure = plan_request(clear, two, ["a", "b"], PlanPolicy(), model=model)
    assert sure.model_calls == 0 and len(asked) == 1
    assert [s["depends_on"] for s in sure.steps] == [[], ["s1"]]


def test_a_dependent_right_side_goes_to_the_agent_its_verb_names(router: Router) -> None:
    """Cut at the "and" before a reference: the left side routes confidently, the right side
    (working on the left's result) goes to the agent its opening words name in the roster
    examples, even when alone it looks ambiguous or leans elsewhere."""
    from nova_graph.planning import split_dependent
    from nova_graph.routing.payload import InstructionVerbs

    verbs = InstructionVerbs(nova_roster().examples())
    split = split_dependent("list the low stock parts and order more of them", router, verbs)
    assert split is not None
    assert [c.agent for c in split.clauses] == ["erp_inventory", "erp_purchasing"]
    split = split_dependent(
        "look up the KM 75 brush in the catalogue and write marketing copy based on it",
        router,
        verbs,
    )
    assert split is not None and split.agents == ["erp_catalogue", "listing_copywriter"]
    assert split_dependent("look up the account for Smith and Sons", router, verbs) is None


def _clock_then_answer(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """Call ``current_time`` once when the agent has it, then answer."""
    from langchain_core.messages import AIMessage, ToolMessage

    names = [t["name"] for t in tools]
    if "current_time" in names and not isinstance(messages[-1], ToolMessage):
        return AIMessage("", tool_calls=[{"name": "current_time", "args": {}, "id": "c1"}])
    return "done: " + str(messages[-1].content)


CHAIN = "what time is it, then count the words in it"


def _chain_graph(tmp_path: Path, **extra: Any) -> Any:
    """clock then words (words takes clock's answer), on the small roster."""
    scores = {name: 0.1 * i for i, name in enumerate(["clock", "math", "words", "stock"] * 3)}
    decision = RouteDecision(
        agents=["clock", "words"],
        scores={**scores, **{f"extra{i}": 0.01 * i for i in range(20)}},
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=1),
            ClauseRoute(text="count the words in it", agent="words", score=1),
        ],
    )
    return build_nova_graph(
        roster=load_roster(SMALL),
        router=TableRouter({CHAIN: decision}),
        data_dir=tmp_path,
        checkpointer=InMemorySaver(),
        **{"model": FunctionChatModel(fn=_clock_then_answer), **extra},
    )


def test_a_chain_continues_from_each_step_without_a_next_steps_superstep(tmp_path: Path) -> None:
    text = CHAIN
    graph = _chain_graph(tmp_path)
    cfg = {"configurable": {"thread_id": "c"}}
    nodes = [next(iter(u)) for u in graph.stream({"messages": [("user", text)]}, cfg)]
    assert nodes == ["supervisor", "clock", "words", "compose"]  # one superstep per step
    state = graph.get_state(cfg).values
    assert state["plan_status"] == {
        "s1": {"state": "ok", "reason": ""},
        "s2": {"state": "ok", "reason": ""},
    }
    assert state["results"]["words"]["inputs"] == ["s1"]
    assert state["results"]["clock"]["tool_calls"][0]["name"] == "current_time"
    kept = state["decision"]["scores"]  # the best few and the routed agents', not all 24
    assert len(kept) <= 6 and {"clock", "words"} <= set(kept)


def test_a_request_budget_spans_the_steps_a_chain_starts_from_its_own_node(
    tmp_path: Path,
) -> None:
    graph = _chain_graph(tmp_path, budget=Budget(max_model_calls=2))
    state = graph.invoke({"messages": [("user", CHAIN)]}, {"configurable": {"thread_id": "b"}})
    assert state["results"]["clock"]["status"] == "ok"  # its tool call and answer: 2 calls
    stopped = [f for f in state["failures"] if f["agent"] == "words"]
    assert stopped and stopped[0]["error_type"] == "BudgetExceededError"
    assert "this request" in stopped[0]["message"]


def test_a_step_started_from_the_previous_steps_node_sees_the_conversation(
    tmp_path: Path,
) -> None:
    seen: list[list[str]] = []

    def model(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
        if not any(t["name"] == "current_time" for t in tools):  # the words step
            seen.append([str(m.content) for m in messages])
        return _clock_then_answer(messages, tools)

    graph = _chain_graph(tmp_path, model=FunctionChatModel(fn=model))
    cfg = {"configurable": {"thread_id": "h"}}
    graph.invoke({"messages": [("user", CHAIN)]}, cfg)
    graph.invoke({"messages": [("user", CHAIN)]}, cfg)
    assert len(seen) == 2 and seen[0][-1] == seen[1][-1] == "count the words in it"
    assert CHAIN not in seen[0] and CHAIN in seen[1]  # the earlier turn, as history


def test_a_failed_step_of_an_agent_skips_its_next_step_not_its_other_one(tmp_path: Path) -> None:
    first, second, third = "count the words in alpha beta", "count the words in it", "words: x"
    text = f"{first}, then {second}; also {third}"
    decision = RouteDecision(
        agents=["words"],
        clauses=[ClauseRoute(text=t, agent="words", score=1) for t in (first, second, third)],
    )

    def model(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        if str(messages[-1].content) == first:
            raise ValueError("words is broken on this one")
        return "done: " + str(messages[-1].content)

    graph = build_nova_graph(
        roster=load_roster(SMALL),
        router=TableRouter({text: decision}),
        model=FunctionChatModel(fn=model),
        data_dir=tmp_path,
        checkpointer=False,
        reliability=ReliabilityPolicy(max_attempts=1),
    )
    state = graph.invoke({"messages": [("user", text)]})
    assert [s["depends_on"] for s in state["plan"]] == [[], ["s1"], []]
    status = state["plan_status"]
    assert status["s1"]["state"] == "failed" and status["s3"]["state"] == "ok"
    assert status["s2"]["reason"] == (
        "not run: words failed: ValueError: words is broken on this one"
    )
    assert [(f["agent"], f.get("step")) for f in state["failures"]] == [("words", "s1")]
    assert state["step_results"]["s3"]["answer"] == f"done: {third}"
    assert "s2" not in state["step_results"]
