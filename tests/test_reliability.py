"""Agent failures: transient retries, no retry for bugs, time limits, circuit breaker, scoping."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from nova_app import build_nova_graph
from nova_graph.errors import AgentTimeoutError
from nova_graph.reliability import CircuitBreaker, ReliabilityPolicy, is_transient, redact
from nova_graph.roster import Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

CLOCK_Q = "what time is it"
MULTI_Q = "what time is it, and also count the words: alpha beta gamma"
PROMPT_AGENT = {"You tell the time.": "clock", "You analyse text.": "words"}
TABLE = {
    CLOCK_Q: RouteDecision(agents=["clock"]),
    MULTI_Q: RouteDecision(
        agents=["clock", "words"],
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=0.9),
            ClauseRoute(text="count the words: alpha beta gamma", agent="words", score=0.9),
        ],
    ),
}
FAST = ReliabilityPolicy(timeout_seconds=2.0, max_attempts=3, initial_interval=0.001, jitter=False)


class Scripted:
    """Model behaviour per agent: a callable raising or answering; counts calls per agent."""

    def __init__(self, **behaviour: Any) -> None:
        self.behaviour = behaviour
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        agent = PROMPT_AGENT.get(str(messages[0].content), "?")
        with self.lock:
            self.calls[agent] = self.calls.get(agent, 0) + 1
        act = self.behaviour.get(agent)
        if act is None:
            return f"{agent} answer"
        return act(messages, tools)  # type: ignore[no-any-return]


def _raise(exc: BaseException) -> Any:
    def act(*_: Any) -> Any:
        raise exc

    return act


def _graph(
    roster: Roster, script: Scripted, data_dir: Path, policy: ReliabilityPolicy = FAST, **kw: Any
) -> Any:
    return build_nova_graph(
        roster=roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=script),
        data_dir=data_dir,
        reliability=policy,
        **kw,
    )


def _ask(graph: Any, text: str) -> dict[str, Any]:
    return graph.invoke(  # type: ignore[no-any-return]
        {"messages": [{"role": "user", "content": text}]},
        {"configurable": {"thread_id": uuid.uuid4().hex}},
    )


def test_transient_error_is_retried_then_recorded_with_attempts(
    small_roster: Roster, data_dir: Path
) -> None:
    script = Scripted(clock=_raise(ConnectionError("connection reset")))
    state = _ask(_graph(small_roster, script, data_dir), CLOCK_Q)
    assert script.calls["clock"] == 3
    assert state["failures"] == [
        {
            "agent": "clock",
            "error_type": "ConnectionError",
            "message": "connection reset",
            "attempts": 3,
        }
    ]
    assert state["results"]["clock"]["status"] == "failed"


def test_transient_error_that_clears_up_succeeds_on_retry(
    small_roster: Roster, data_dir: Path
) -> None:
    flaky = iter([TimeoutError("slow upstream")])

    def once(*_: Any) -> str:
        exc = next(flaky, None)
        if exc is not None:
            raise exc
        return "clock answer after retry"

    script = Scripted(clock=once)
    state = _ask(_graph(small_roster, script, data_dir), CLOCK_Q)
    assert state["failures"] == []
    assert state["results"]["clock"]["status"] == "ok"
    assert state["results"]["clock"]["attempts"] == 2
    assert "clock answer after retry" in state["messages"][-1].content


@pytest.mark.parametrize("exc", [TypeError("bad arg"), ValueError("bad value"), KeyError("k")])
def test_programming_error_is_not_retried(
    small_roster: Roster, data_dir: Path, exc: Exception
) -> None:
    script = Scripted(clock=_raise(exc))
    state = _ask(_graph(small_roster, script, data_dir), CLOCK_Q)
    assert script.calls["clock"] == 1
    assert state["failures"][0]["error_type"] == type(exc).__name__
    assert state["failures"][0]["attempts"] == 1


def test_single_failed_agent_still_gets_a_final_answer_naming_the_failure(
    small_roster: Roster, data_dir: Path
) -> None:
    script = Scripted(clock=_raise(RuntimeError("disk on fire")))
    state = _ask(_graph(small_roster, script, data_dir), CLOCK_Q)
    final = state["messages"][-1]
    assert isinstance(final, AIMessage)
    assert "could not complete the clock part" in final.content
    assert "disk on fire" in final.content


def test_multi_domain_request_keeps_the_other_agents_answer(
    small_roster: Roster, data_dir: Path
) -> None:
    script = Scripted(clock=_raise(ConnectionError("refused")))
    state = _ask(_graph(small_roster, script, data_dir), MULTI_Q)
    assert state["results"]["words"]["status"] == "ok"
    assert state["results"]["clock"]["status"] == "failed"
    answer = state["messages"][-1].content
    assert "words answer" in answer
    assert "could not complete the clock part" in answer
    assert sum(isinstance(m, AIMessage) for m in state["messages"]) == 1


def test_hanging_agent_times_out_under_invoke(small_roster: Roster, data_dir: Path) -> None:
    policy = FAST.model_copy(update={"timeout_seconds": 0.1, "max_attempts": 2})
    script = Scripted(clock=lambda *_: time.sleep(1.5) or "late")
    started = time.perf_counter()
    state = _ask(_graph(small_roster, script, data_dir, policy), MULTI_Q)
    assert time.perf_counter() - started < 1.2
    assert state["failures"][0]["agent"] == "clock"
    assert state["failures"][0]["error_type"] == "Timeout"
    assert state["failures"][0]["attempts"] == 2
    assert state["results"]["words"]["status"] == "ok"


def test_hanging_agent_times_out_under_ainvoke(small_roster: Roster, data_dir: Path) -> None:
    policy = FAST.model_copy(update={"timeout_seconds": 0.1, "max_attempts": 2})
    script = Scripted(clock=lambda *_: time.sleep(1.5) or "late")
    graph = _graph(small_roster, script, data_dir, policy)

    async def ask() -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        state = await graph.ainvoke(
            {"messages": [{"role": "user", "content": MULTI_Q}]},
            {"configurable": {"thread_id": "async-hang"}},
        )
        return state, time.perf_counter() - started

    # asyncio.run itself then waits for the abandoned executor thread; the graph does not.
    state, elapsed = asyncio.run(ask())
    assert elapsed < 1.2
    assert [f["error_type"] for f in state["failures"]] == ["Timeout"]
    assert state["results"]["words"]["status"] == "ok"


def test_circuit_opens_after_repeated_failures_and_skip_is_reported(
    small_roster: Roster, data_dir: Path
) -> None:
    now = [1_000_000.0]
    breaker = CircuitBreaker(threshold=2, cooldown_seconds=30, clock=lambda: now[0])
    script = Scripted(clock=_raise(TypeError("bug")))
    graph = _graph(small_roster, script, data_dir, circuit_breaker=breaker)
    _ask(graph, CLOCK_Q)
    _ask(graph, CLOCK_Q)
    state = _ask(graph, CLOCK_Q)
    assert script.calls["clock"] == 2  # the third request did not run the agent
    failure = state["failures"][0]
    assert failure["error_type"] == "CircuitOpen"
    assert failure["attempts"] == 0
    assert "skipped: circuit open until" in failure["message"]
    assert "skipped: circuit open until" in state["messages"][-1].content


def test_circuit_lets_a_trial_through_after_cooldown_and_closes_on_success(
    small_roster: Roster, data_dir: Path
) -> None:
    now = [1_000_000.0]
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=30, clock=lambda: now[0])
    outcomes = iter([TypeError("bug")])

    def clock_agent(*_: Any) -> str:
        exc = next(outcomes, None)
        if exc:
            raise exc
        return "clock answer"

    graph = _graph(small_roster, Scripted(clock=clock_agent), data_dir, circuit_breaker=breaker)
    _ask(graph, CLOCK_Q)
    assert breaker.is_open("clock")
    now[0] += 31
    state = _ask(graph, CLOCK_Q)
    assert state["failures"] == []
    assert not breaker.is_open("clock")


def test_agent_cannot_call_another_agents_tool(small_roster: Roster, data_dir: Path) -> None:
    def clock_agent(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        if any(getattr(m, "type", "") == "tool" for m in messages):
            return "done"
        assert [t["name"] for t in tools] == ["current_time"]
        return AIMessage(
            content="",
            tool_calls=[{"name": "word_count", "args": {"text": "a b c"}, "id": "c1"}],
        )

    state = _ask(_graph(small_roster, Scripted(clock=clock_agent), data_dir), CLOCK_Q)
    calls = state["results"]["clock"]["tool_calls"]
    assert len(calls) == 1
    assert calls[0]["name"] == "word_count"
    assert calls[0]["ok"] is False
    assert "not a valid tool" in calls[0]["output"]


def test_graph_invocation_never_raises_for_agent_failures(
    small_roster: Roster, data_dir: Path
) -> None:
    script = Scripted(
        clock=_raise(MemoryError("out of memory")), words=_raise(RecursionError("deep"))
    )
    state = _ask(_graph(small_roster, script, data_dir), MULTI_Q)
    assert {f["agent"] for f in state["failures"]} == {"clock", "words"}
    assert isinstance(state["messages"][-1], AIMessage)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (TimeoutError(), True),
        (ConnectionError(), True),
        (AgentTimeoutError("x"), True),
        (TypeError(), False),
        (KeyError("x"), False),
        (RuntimeError(), False),
    ],
)
def test_is_transient_classifies_builtin_errors(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_is_transient_treats_openai_rate_limit_and_connection_errors_as_transient() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(429, request=request)
    assert is_transient(openai.RateLimitError("slow down", response=response, body=None))
    assert is_transient(openai.APIConnectionError(request=request))
    assert is_transient(openai.APITimeoutError(request=request))
    bad = httpx.Response(400, request=request)
    assert not is_transient(openai.BadRequestError("bad", response=bad, body=None))


def test_redact_removes_secret_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-12345678-secret")
    assert redact("auth failed for tok-12345678-secret") == "auth failed for [redacted]"
