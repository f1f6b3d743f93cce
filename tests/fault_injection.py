"""Fault injection harness: agents that raise, hang or answer at random (seeded).

Used by tests/test_reliability_faults.py (a few hundred requests) and benchmarks/faults.py (the
1,000-request target). Every request must end with an answer or an explicit failure for each routed
agent: never an exception to the caller, never a missing part.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from nova_app import build_nova_graph
from nova_graph import load_roster
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

ROSTER = Path(__file__).parent / "data" / "roster_small.yaml"
REQUESTS = {
    "what time is it": RouteDecision(agents=["clock"]),
    "calculate 2 + 2": RouteDecision(agents=["math"]),
    "what time is it, and count the words: a b c": RouteDecision(
        agents=["clock", "words"],
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=0.9),
            ClauseRoute(text="count the words: a b c", agent="words", score=0.9),
        ],
    ),
    "calculate 2 + 2 and how many brush heads are in stock": RouteDecision(
        agents=["math", "stock"],
        clauses=[
            ClauseRoute(text="calculate 2 + 2", agent="math", score=0.9),
            ClauseRoute(text="how many brush heads are in stock", agent="stock", score=0.9),
        ],
    ),
}


class FaultyModel:
    """Model function: with probability ``rate`` a call raises (transient or not) or hangs."""

    def __init__(self, *, seed: int, rate: float = 0.2, hang_seconds: float = 0.3) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.injected = {"transient": 0, "permanent": 0, "hang": 0, "ok": 0}

    def __call__(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        with self.lock:
            draw, kind = self.rng.random(), self.rng.choice(["transient", "permanent", "hang"])
            kind = kind if draw < self.rate else "ok"
            self.injected[kind] += 1
        if kind == "transient":
            raise ConnectionError("injected: connection reset by peer")
        if kind == "permanent":
            raise ValueError("injected: a bug in the agent")
        if kind == "hang":
            time.sleep(self.hang_seconds)
        return f"answer to: {messages[-1].content}"


@dataclass
class FaultReport:
    """What a fault-injection run observed."""

    requests: int = 0
    answered_fully: int = 0
    answered_with_explicit_failures: int = 0
    exceptions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    failure_types: dict[str, int] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every request ended with an answer or explicit failures."""
        return not self.exceptions and not self.violations


def check_outcome(state: dict[str, Any]) -> list[str]:
    """Invariant violations of one finished request (empty when it is fully accounted for)."""
    problems: list[str] = []
    routes = state.get("routes") or []
    results = state.get("results") or {}
    failures = state.get("failures") or []
    final = state["messages"][-1]
    if not isinstance(final, AIMessage) or not str(final.content).strip():
        problems.append("no final answer")
    failed = {f["agent"] for f in failures}
    for agent in routes:
        result = results.get(agent)
        if result is None:
            problems.append(f"{agent}: missing part")
        elif result["status"] == "ok" and agent in failed:
            problems.append(f"{agent}: both ok and failed")
        elif result["status"] == "failed" and agent not in failed:
            problems.append(f"{agent}: failed without a failure record")
        elif result["status"] == "ok" and result["answer"] not in str(final.content):
            problems.append(f"{agent}: answer missing from the final message")
    for f in failures:
        if f"could not complete the {f['agent']} part" not in str(final.content):
            problems.append(f"{f['agent']}: failure not reported in the answer")
    return problems


def run_faults(
    n: int, *, seed: int, data_dir: Path, rate: float = 0.2, timeout: float = 0.1
) -> FaultReport:
    """Send ``n`` requests through one graph whose model fails ``rate`` of its calls."""
    model = FaultyModel(seed=seed, rate=rate, hang_seconds=3 * timeout)
    graph = build_nova_graph(
        roster=load_roster(ROSTER),
        router=TableRouter(REQUESTS),
        model=FunctionChatModel(fn=model),
        data_dir=data_dir,
        reliability=ReliabilityPolicy(
            timeout_seconds=timeout, max_attempts=3, initial_interval=0.001, jitter=False
        ),
    )
    texts = list(REQUESTS)
    picker = random.Random(seed + 1)
    report = FaultReport()
    started = time.perf_counter()
    for _ in range(n):
        text = picker.choice(texts)
        report.requests += 1
        try:
            state = graph.invoke(
                {"messages": [{"role": "user", "content": text}]},
                {"configurable": {"thread_id": uuid.uuid4().hex}},
            )
        except Exception as exc:  # the property under test: this must never happen
            report.exceptions.append(f"{type(exc).__name__}: {exc}")
            continue
        problems = check_outcome(state)
        report.violations += [f"{text!r}: {p}" for p in problems]
        for f in state["failures"]:
            report.failure_types[f["error_type"]] = report.failure_types.get(f["error_type"], 0) + 1
        if not problems:
            if state["failures"]:
                report.answered_with_explicit_failures += 1
            else:
                report.answered_fully += 1
    report.seconds = time.perf_counter() - started
    report.injected = dict(model.injected)
    return report
