"""Orchestration cost of each extra plan step, against a bare LangGraph sequence, in one run.

A chain of k = 1..4 dependent steps ("list the low stock parts, then show the monthly sales
report, then ...") runs through the Nova graph (supervisor, plan, ``Send`` per step with the
upstream results, ``next_steps`` after each, compose) and through a bare LangGraph
``START -> a1 -> ... -> ak -> END`` sequence of the same agents (same offline model, same tools,
same messages with the previous answer quoted in). Both without a checkpointer, on the same
demo data, timed interleaved (each round runs every k on both systems ``--repeats`` times,
alternating which goes first). For each, the extra time per added step is the least-squares slope
of the median run time over k, in total and with the agents' own time (``latency_ms``) taken out;
the figure that matters is orchestration only, as agents' own times vary with the load. Under a
loaded CPU the wall figures are noisy, so the process's CPU time is also reported, with every
agent's own CPU time taken out wherever it ran (each executor's ``thread_time`` around its
``invoke``, in whichever thread runs it). Both systems run the same agent executors (Nova's chain
agents are given as graph agents wrapping them), and both build each agent's messages (the quoted
upstream results) outside the executor, counted as orchestration.

By default Nova keeps its per-agent time limit (120 s, ``ReliabilityPolicy().timeout_seconds``:
each attempt runs in the agent's worker lane so an overrun can be abandoned), and the bare
sequence is given the same limit the LangGraph way: ``step_timeout`` on the compiled graph, which
makes LangGraph's runner run each step in its executor thread and wait with that timeout (its
single-task fast path runs inline only without a timeout). Both then pay one thread hand-off per
step. ``--bare-timeout none`` drops the bare sequence's limit while Nova keeps its own: the
unlike comparison, written to ``plans_bare_no_limit.json``. ``--agent-timeout none`` builds Nova
with no per-agent time limit (agents run in the calling thread, no hand-off), and the bare
sequence then has none either.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/plans.py [--rounds 21] [--agent-timeout none]
[--bare-timeout none]``; JSON lands in ``benchmarks/results/plans.json`` (``plans_no_timeout.json``
without a limit on either side, ``plans_bare_no_limit.json`` with Nova's limit only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END, START, StateGraph

from nova_app import build_nova_graph, nova_roster
from nova_app.tools import nova_tools
from nova_graph.agents import agent_messages, build_agent_executor, summarize_run
from nova_graph.models import OfflineChatModel
from nova_graph.plan_dispatch import step_input
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.roster import AgentSpec
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.state import AgentResult, AgentTask, PlanStep
from nova_graph.tools import ToolContext, resolve_tools

CHAIN = [
    ("erp_inventory", "list the low stock parts"),
    ("erp_reports", "show the monthly sales report"),
    ("erp_receivables", "show the receivables ageing"),
    ("erp_shipping", "list the shipments awaiting dispatch"),
]


class _Router:
    """Routes each chain request to its clauses (so routing cost is the same tiny lookup)."""

    def __init__(self) -> None:
        self.table: dict[str, RouteDecision] = {}
        for k in range(1, len(CHAIN) + 1):
            steps = CHAIN[:k]
            self.table[request(k)] = RouteDecision(
                agents=[a for a, _ in steps],
                clauses=[ClauseRoute(text=t, agent=a, score=1.0) for a, t in steps],
            )

    def route(self, text: str) -> RouteDecision:
        return self.table[text]


def request(k: int) -> str:
    """The k-step chained request."""
    return ", then ".join(t for _, t in CHAIN[:k])


AGENT_CPU_MS: list[float] = []  # the agents' own CPU time (any thread) in the current run


class _TimedAgent(Runnable[Any, Any]):
    """An agent's executor that adds its CPU time (in whichever thread runs it) to
    ``AGENT_CPU_MS``, as the bare sequence's node does."""

    def __init__(self, name: str, inner: Runnable[Any, Any]) -> None:
        self.name, self.inner = name, inner

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the wrapped executor."""
        cpu = time.thread_time()
        try:
            return self.inner.invoke(input, config, **kwargs)
        finally:
            AGENT_CPU_MS.append((time.thread_time() - cpu) * 1000)


def chain_executors(model: OfflineChatModel, ctx: ToolContext) -> dict[str, Runnable[Any, Any]]:
    """Each chain agent's executor (the roster's tools on ``ctx``), built once for both systems."""
    roster = nova_roster()
    registry = {t.name: t for t in nova_tools(ctx)}
    return {
        name: build_agent_executor(
            roster[name], model, resolve_tools(name, roster[name].tools, registry)
        )
        for name, _text in CHAIN
    }


def timed_chain_agents(executors: dict[str, Runnable[Any, Any]]) -> list[AgentSpec]:
    """The chain's agents as graph agents running ``executors``, timed."""
    roster = nova_roster()
    return [
        roster[name].model_copy(
            update={"graph": _TimedAgent(name, executor), "tools": [], "mcp_tools": {}}
        )
        for name, executor in executors.items()
    ]


class _SeqState(TypedDict, total=False):
    results: list[AgentResult]


def bare_sequence(
    k: int, executors: dict[str, Runnable[Any, Any]], step_timeout: float | None
) -> Any:
    """START -> agent 1 -> ... -> agent k -> END running ``executors``, each given the previous
    step's result, with LangGraph's own per-step time limit when ``step_timeout`` is set."""
    roster = nova_roster()
    g = StateGraph(_SeqState)
    prev = START
    for i, (name, _text) in enumerate(CHAIN[:k]):
        spec, executor = roster[name], executors[name]

        def node(state: _SeqState, spec: Any = spec, executor: Any = executor, i: int = i) -> Any:
            done = state.get("results") or []
            task = AgentTask(agent=spec.name, request=CHAIN[i][1], history=[], memories=[])
            if done:
                up = PlanStep(id=f"s{i}", agent=done[-1]["agent"], request="", depends_on=[])
                task["inputs"] = [step_input(up, done[-1])]
            started = time.perf_counter()
            # Counted as orchestration, as Nova's agent node does (outside the agent's executor);
            # only the agent's own run is the agent's CPU time.
            messages = agent_messages(task)
            cpu = time.thread_time()
            out = executor.invoke({"messages": messages})
            AGENT_CPU_MS.append((time.thread_time() - cpu) * 1000)
            return {"results": [*done, summarize_run(spec, task, out["messages"], started, 1)]}

        g.add_node(name, node)
        g.add_edge(prev, name)
        prev = name
    g.add_edge(prev, END)
    graph = g.compile()
    graph.step_timeout = step_timeout
    return graph


def _slope(ks: list[int], ys: list[float]) -> float:
    mk, my = statistics.fmean(ks), statistics.fmean(ys)
    return sum((k - mk) * (y - my) for k, y in zip(ks, ys, strict=True)) / sum(
        (k - mk) ** 2 for k in ks
    )


def main() -> None:
    """Measure both systems for k = 1..4 and write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each k per round")
    parser.add_argument(
        "--agent-timeout",
        choices=["default", "none"],
        default="default",
        help="Nova's per-agent time limit: its default (agents run in worker lanes) or none",
    )
    parser.add_argument(
        "--bare-timeout",
        choices=["same", "none"],
        default="same",
        help="the bare sequence's step_timeout: the same limit as Nova's agents, or none",
    )
    args = parser.parse_args()
    no_limit = args.agent_timeout == "none"
    limit = None if no_limit else ReliabilityPolicy().timeout_seconds
    bare_limit = None if args.bare_timeout == "none" else limit
    model = OfflineChatModel()
    ks = list(range(1, len(CHAIN) + 1))
    out: dict[str, Any] = {
        "rounds": args.rounds,
        "repeats": args.repeats,
        "ks": ks,
        "agent_timeout": args.agent_timeout,
        "nova_agent_timeout_s": limit,
        "bare_step_timeout_s": bare_limit,
    }
    with tempfile.TemporaryDirectory() as data:
        ctx = ToolContext(model=model)
        ctx.data_dir = Path(data)
        options: dict[str, Any] = {}
        executors = chain_executors(model, ctx)
        chain = {spec.name: spec for spec in timed_chain_agents(executors)}
        roster = nova_roster()
        options["roster"] = roster.subset([chain.get(a.name, a) for a in roster])
        if no_limit:
            options["reliability"] = ReliabilityPolicy(timeout_seconds=None)
        nova = build_nova_graph(
            router=_Router(), model=model, data_dir=data, checkpointer=False, **options
        )
        bares = {k: bare_sequence(k, executors, bare_limit) for k in ks}

        def once(label: str, k: int) -> tuple[float, float, float]:
            """Whole run time, run time minus the agents' own time, and the process's CPU time
            minus the agents' own CPU time, in ms."""
            AGENT_CPU_MS.clear()
            started, cpu = time.perf_counter(), time.process_time()
            if label == "nova":
                state = nova.invoke({"messages": [("user", request(k))]})
                results = list(state["results"].values())
                assert len(results) == k and all(s["depends_on"] for s in state["plan"][1:]), (
                    "the chain must run as a dependent plan"
                )
            else:
                results = bares[k].invoke({})["results"]
            ms = (time.perf_counter() - started) * 1000
            cpu_ms = (time.process_time() - cpu) * 1000 - sum(AGENT_CPU_MS)
            return ms, ms - sum(r["latency_ms"] for r in results), cpu_ms

        for k in ks:  # warm-up: demo databases, imports, caches
            once("nova", k), once("bare", k)
        runs: dict[tuple[str, int], list[tuple[float, float, float]]] = {
            (label, k): [] for label in ("nova", "bare") for k in ks
        }
        for r in range(args.rounds * args.repeats):  # each k, both systems, order alternating
            for k in ks:
                for label in ("nova", "bare") if r % 2 == 0 else ("bare", "nova"):
                    runs[label, k].append(once(label, k))
        for label in ("nova", "bare"):
            totals, overheads, cpus = (
                [statistics.median(run[i] for run in runs[label, k]) for k in ks] for i in range(3)
            )
            out[label] = {
                "median_ms_by_steps": totals,
                "median_overhead_ms_by_steps": overheads,
                "median_cpu_overhead_ms_by_steps": cpus,
                "ms_per_extra_step": _slope(ks, totals),
                "overhead_ms_per_extra_step": _slope(ks, overheads),
                "cpu_overhead_ms_per_extra_step": _slope(ks, cpus),
            }
    out["ratio_per_extra_step"] = (
        out["nova"]["ms_per_extra_step"] / out["bare"]["ms_per_extra_step"]
    )
    out["ratio_overhead_per_extra_step"] = (
        out["nova"]["overhead_ms_per_extra_step"] / out["bare"]["overhead_ms_per_extra_step"]
    )
    cpu = "cpu_overhead_ms_per_extra_step"
    out["ratio_cpu_overhead_per_extra_step"] = out["nova"][cpu] / out["bare"][cpu]
    name = "plans_no_timeout" if no_limit else "plans"
    if bare_limit is None and not no_limit:
        name = "plans_bare_no_limit"
    path = Path(__file__).parent / "results" / f"{name}.json"
    path.write_text(json.dumps(out, indent=1), "utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
