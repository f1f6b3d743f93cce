"""A hung agent blocks only itself: healthy agents' runs complete while two agents hang."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from nova_app import build_nova_graph
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.reliability.lanes import WorkerLane
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

HANG = {"You tell the time.", "You analyse text."}  # the clock and words agents hang
TABLE = {
    "what time is it": RouteDecision(agents=["clock"]),
    "count the words": RouteDecision(agents=["words"]),
    "calculate 2 + 2": RouteDecision(agents=["math"]),
}
POLICY = ReliabilityPolicy(
    timeout_seconds=1.0, max_attempts=2, initial_interval=0.001, jitter=False, agent_workers=4
)
HEALTHY, HUNG = 30, 12


def _model(release: threading.Event) -> FunctionChatModel:
    def answer(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        if str(messages[0].content) in HANG:
            release.wait(30)  # hangs until the test ends
        return "4"

    return FunctionChatModel(fn=answer)


def _graph(roster: Roster, data_dir: Path, release: threading.Event) -> Any:
    return build_nova_graph(
        roster=roster,
        router=TableRouter(TABLE),
        model=_model(release),
        data_dir=data_dir,
        reliability=POLICY,
    )


def _requests() -> list[str]:
    hung = ["what time is it", "count the words"] * (HUNG // 2)
    return hung + ["calculate 2 + 2"] * HEALTHY


def _healthy_ok(states: list[dict[str, Any]]) -> int:
    return sum(1 for s in states if s.get("results", {}).get("math", {}).get("status") == "ok")


def test_healthy_agents_complete_while_two_agents_hang_under_ainvoke(
    small_roster: Roster, data_dir: Path
) -> None:
    release = threading.Event()
    graph = _graph(small_roster, data_dir, release)

    async def ask(text: str) -> dict[str, Any]:
        return await graph.ainvoke(  # type: ignore[no-any-return]
            {"messages": [{"role": "user", "content": text}]},
            {"configurable": {"thread_id": uuid.uuid4().hex}},
        )

    async def main() -> list[dict[str, Any]]:
        return await asyncio.gather(*(ask(t) for t in _requests()))

    try:
        started = time.perf_counter()
        states = asyncio.run(main())
        elapsed = time.perf_counter() - started
    finally:
        release.set()
    assert _healthy_ok(states) == HEALTHY
    assert sum(1 for s in states if s.get("failures")) == HUNG  # the hung ones time out
    assert elapsed < 20


def test_healthy_agents_complete_while_two_agents_hang_under_invoke(
    small_roster: Roster, data_dir: Path
) -> None:
    release = threading.Event()
    graph = _graph(small_roster, data_dir, release)

    def ask(text: str) -> dict[str, Any]:
        return graph.invoke(  # type: ignore[no-any-return]
            {"messages": [{"role": "user", "content": text}]},
            {"configurable": {"thread_id": uuid.uuid4().hex}},
        )

    try:
        with ThreadPoolExecutor(16) as pool:
            states = list(pool.map(ask, _requests()))
    finally:
        release.set()
    assert _healthy_ok(states) == HEALTHY


def test_a_lane_never_starts_more_threads_than_its_cap() -> None:
    lane, gate = WorkerLane("cap", workers=3), threading.Event()
    futures = [lane.submit(lambda: gate.wait(5)) for _ in range(10)]
    # all three start at once: a thread that has just become idle takes one queued call, so it
    # does not stand in for the threads the other queued calls need
    assert lane.threads == 3
    time.sleep(0.1)
    assert lane.threads == 3
    gate.set()
    assert all(f.result(timeout=5) for f in futures)
    assert lane.threads == 3  # the queued calls reused the same threads


def test_a_lane_call_returns_raises_and_abandons_a_queued_call_at_its_deadline() -> None:
    lane, gate, ran = WorkerLane("one", workers=1), threading.Event(), []
    assert lane.call(lambda: threading.current_thread().name, 5) == "nova-one-1"
    try:
        lane.call(lambda: 1 / 0, 5)
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the call's own exception must reach its caller")
    busy = lane.submit(lambda: gate.wait(5))  # holds the lane's only worker
    started = time.perf_counter()
    try:
        lane.call(lambda: ran.append(1), 0.2)
    except TimeoutError:
        pass
    else:
        raise AssertionError("a call that cannot start before its deadline must time out")
    assert 0.15 < time.perf_counter() - started < 2
    gate.set()
    assert busy.result(timeout=5)
    assert lane.call(lambda: "after", 5) == "after"  # the worker moved past the abandoned call
    assert ran == []  # abandoned before it started: it never runs


def test_a_lone_tool_call_runs_in_the_agents_own_thread() -> None:
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    from nova_graph.tools.tool_node import InlineToolNode

    seen: list[str] = []

    @tool
    def where() -> str:
        """Say which thread runs the tool."""
        seen.append(threading.current_thread().name)
        return "here"

    from langgraph.graph import END, START, MessagesState, StateGraph

    g = StateGraph(MessagesState)
    g.add_node("tools", InlineToolNode([where]))
    g.add_edge(START, "tools")
    g.add_edge("tools", END)
    node = g.compile()
    one = AIMessage("", tool_calls=[{"name": "where", "args": {}, "id": "a"}])
    out = node.invoke({"messages": [one]})
    assert out["messages"][-1].content == "here"
    assert seen == [threading.current_thread().name]  # no new executor thread per call
    two = AIMessage("", tool_calls=[{"name": "where", "args": {}, "id": i} for i in "bc"])
    assert [m.content for m in node.invoke({"messages": [two]})["messages"][1:]] == ["here"] * 2


def _thread_names(small_roster: Roster, data_dir: Path, timeout: float | None) -> list[str]:
    """The threads the math agent's model ran in, for one request through the compiled graph."""
    seen: list[str] = []

    def answer(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        seen.append(threading.current_thread().name)
        return "4"

    graph = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=answer),
        data_dir=data_dir,
        checkpointer=False,
        reliability=POLICY.model_copy(update={"timeout_seconds": timeout}),
    )
    state = graph.invoke({"messages": [{"role": "user", "content": "calculate 2 + 2"}]})
    assert state["results"]["math"]["status"] == "ok"
    return seen


def test_an_agent_with_a_time_limit_runs_in_its_lane_and_one_without_in_the_calling_thread(
    small_roster: Roster, data_dir: Path
) -> None:
    assert _thread_names(small_roster, data_dir, 5.0) == ["nova-agent-math-1"]
    # No limit: nothing could be abandoned, so no hand-off (a one-task superstep runs inline).
    assert _thread_names(small_roster, data_dir, None) == [threading.current_thread().name]


def test_a_quick_call_is_not_queued_behind_a_hung_one_while_the_lane_has_room() -> None:
    # Each round: a call that hangs, then a quick one on a two-thread lane. The first thread may
    # be idle for an instant when the quick call arrives; the quick call must still get the
    # second thread rather than wait behind the hung call.
    for _ in range(200):
        lane, gate = WorkerLane("room", workers=2), threading.Event()
        hung = lane.submit(lambda gate=gate: gate.wait(5))
        quick = lane.submit(lambda: True)
        try:
            assert quick.result(timeout=2)
        finally:
            gate.set()
        assert hung.result(timeout=5)
