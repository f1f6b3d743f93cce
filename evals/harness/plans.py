"""Plans of multi-step requests against gold plans; ``nova eval plans`` prints the table.

Every case runs through the compiled graph (default roster and router, the offline model, real
tools on a temporary copy of the demo data, approvals granted) twice: with plans, and with
today's parallel fan-out (``PlanPolicy(enabled=False)``) as the ablation. It reports exact plans
(agents and edges), edge precision and recall, whether each dependent step was given its
upstream results, whether independent steps started in one superstep, latency per plan against
the sum of its steps, model calls, and the projected cost of an LLM supervisor looping per step.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from nova_graph.planning import PlanPolicy, plan_edges
from nova_graph.roster import Roster

DEFAULT_SET = Path("evals/plans/heldout.yaml")
#: Characters per token when projecting prompt sizes (the usual English average).
CHARS_PER_TOKEN = 4


class GoldStep(BaseModel):
    """One gold step: the agent and the agents whose results it needs."""

    agent: str
    after: list[str] = Field(default_factory=list)


class PlanCase(BaseModel):
    """A multi-step request and its gold plan."""

    request: str
    kind: str
    plan: list[GoldStep]


class CaseResult(BaseModel):
    """What one run of one case produced and how it compares with the gold plan."""

    request: str
    kind: str
    exact: bool
    structure_exact: bool = Field(
        description="Dependencies right by step position, whatever agents the router chose."
    )
    predicted: list[dict[str, Any]]
    edges_right: int
    edges_predicted: int
    edges_gold: int
    dependents: int = Field(description="Gold dependent steps that ran, upstream agents planned.")
    inputs_given: int = Field(description="... of which received every gold upstream result.")
    independent_one_superstep: bool | None
    latency_ms: float
    steps_ms: float
    model_calls: int
    agent_model_calls: int
    projected_loop_calls: int
    projected_loop_prompt_tokens: int


def load_cases(path: Path) -> list[PlanCase]:
    """The cases of one eval set file."""
    data = yaml.safe_load(Path(path).read_text("utf-8"))
    return [PlanCase.model_validate(c) for c in data["cases"]]


def run_case(graph: Any, case: PlanCase, thread: str, agents: set[str], catalogue: str) -> Any:
    """Run one case to the end (approving every pause) and score it."""
    cfg = {"configurable": {"thread_id": thread}}
    payload: Any = {"messages": [("user", case.request)]}
    first_step: dict[str, int] = {}
    started = time.perf_counter()
    for _ in range(16):
        paused = False
        for item in graph.stream(payload, cfg, stream_mode="debug"):
            if item["type"] == "task" and item["payload"]["name"] in agents:
                first_step.setdefault(item["payload"]["name"], item["step"])
            if item["type"] == "task_result" and item["payload"].get("interrupts"):
                paused = True
        if not paused:
            break
        # Parallel steps may pause together: approve each pending interrupt by its id.
        pending = graph.get_state(cfg).interrupts
        payload = Command(resume={i.id: True for i in pending} if len(pending) > 1 else True)
    latency = (time.perf_counter() - started) * 1000
    state = graph.get_state(cfg).values
    return score(case, state, first_step, latency, catalogue)


def score(
    case: PlanCase, state: dict[str, Any], first_step: dict[str, int], latency: float, cat: str
) -> CaseResult:
    """Compare a final state with the gold plan."""
    steps = state.get("plan") or []
    results = state.get("results") or {}
    gold_edges = {(u, g.agent) for g in case.plan for u in g.after}
    got_edges = plan_edges(steps)
    exact = [s["agent"] for s in steps] == [g.agent for g in case.plan] and got_edges == gold_edges
    exact = exact or (
        sorted(s["agent"] for s in steps) == sorted(g.agent for g in case.plan)
        and got_edges == gold_edges
    )
    position = {s["id"]: i for i, s in enumerate(steps)}
    got_shape = [sorted(position[d] for d in s["depends_on"]) for s in steps]
    gold_at = {g.agent: i for i, g in enumerate(case.plan)}
    gold_shape = [sorted(gold_at[u] for u in g.after) for g in case.plan]
    step_of = {s["agent"]: s["id"] for s in steps}
    dependents = given = 0
    for g in case.plan:
        # Only where the plan has the gold upstream agents (a misrouted one is an exact miss).
        if g.after and g.agent in results and all(u in step_of for u in g.after):
            dependents += 1
            wanted = {step_of.get(u) for u in g.after}
            given += int(wanted <= set(results[g.agent].get("inputs") or []))
    roots = [s["agent"] for s in steps if not s["depends_on"] and s["agent"] in first_step]
    one = len({first_step[a] for a in roots}) <= 1 if len(roots) > 1 else None
    answers = [r["answer"] for r in results.values()]
    # An LLM supervisor looping per hop: one call before each step and one to finish, each
    # prompt holding the agent catalogue, the request and every answer so far.
    hops = len(case.plan) + 1
    prompt_chars = sum(
        len(cat) + len(case.request) + sum(map(len, answers[:h])) for h in range(hops)
    )
    return CaseResult(
        request=case.request,
        kind=case.kind,
        exact=exact,
        structure_exact=got_shape == gold_shape,
        predicted=[{"agent": s["agent"], "depends_on": s["depends_on"]} for s in steps],
        edges_right=len(got_edges & gold_edges),
        edges_predicted=len(got_edges),
        edges_gold=len(gold_edges),
        dependents=dependents,
        inputs_given=given,
        independent_one_superstep=one,
        latency_ms=latency,
        steps_ms=sum(r["latency_ms"] for r in results.values()),
        model_calls=int(state.get("routing_model_calls") or 0)
        + int(state.get("plan_model_calls") or 0),
        agent_model_calls=sum(r["model_calls"] for r in results.values()),
        projected_loop_calls=hops,
        projected_loop_prompt_tokens=prompt_chars // CHARS_PER_TOKEN,
    )


def summarise(rows: Sequence[CaseResult]) -> dict[str, Any]:
    """The set's figures."""
    n = len(rows) or 1
    edges_p = sum(r.edges_predicted for r in rows)
    edges_g = sum(r.edges_gold for r in rows)
    right = sum(r.edges_right for r in rows)
    deps = sum(r.dependents for r in rows)
    supersteps = [
        r.independent_one_superstep for r in rows if r.independent_one_superstep is not None
    ]
    return {
        "cases": len(rows),
        "exact_plans": sum(r.exact for r in rows) / n,
        "exact_dependency_structure": sum(r.structure_exact for r in rows) / n,
        "edge_precision": right / edges_p if edges_p else None,
        "edge_recall": right / edges_g if edges_g else None,
        "inputs_delivered": sum(r.inputs_given for r in rows) / deps if deps else None,
        "independent_one_superstep": sum(supersteps) / len(supersteps) if supersteps else None,
        "latency_ms_per_plan": sum(r.latency_ms for r in rows) / n,
        "sum_of_steps_ms_per_plan": sum(r.steps_ms for r in rows) / n,
        "model_calls": sum(r.model_calls for r in rows),
        "agent_model_calls_per_plan": sum(r.agent_model_calls for r in rows) / n,
        "projected_llm_loop_calls_per_plan": sum(r.projected_loop_calls for r in rows) / n,
        "projected_llm_loop_prompt_tokens_per_plan": sum(
            r.projected_loop_prompt_tokens for r in rows
        )
        / n,
    }


def evaluate(
    cases: Sequence[PlanCase], roster: Roster, build: Callable[..., Any] | None = None
) -> dict[str, Any]:
    """Run every case with plans and with the fan-out ablation; return both summaries and rows.

    ``build`` builds the graph from ``build_graph``'s keywords (an app passes its own, with its
    tools; default: ``build_graph``).
    """
    from nova_graph.graph import build_graph
    from nova_graph.models import OfflineChatModel
    from nova_graph.routing.default import default_router

    build = build or build_graph
    router = default_router(roster)
    catalogue = "\n".join(f"{a.name}: {a.description}" for a in roster)
    out: dict[str, Any] = {}
    for label, policy in (("plans", PlanPolicy()), ("fan_out", PlanPolicy(enabled=False))):
        with tempfile.TemporaryDirectory() as data:
            graph = build(
                roster=roster,
                router=router,
                model=OfflineChatModel(),
                data_dir=data,
                checkpointer=InMemorySaver(),
                planning=policy,
            )
            rows = [
                run_case(graph, c, f"{label}-{i}", set(roster.names), catalogue)
                for i, c in enumerate(cases)
            ]
        out[label] = {"summary": summarise(rows), "cases": [r.model_dump() for r in rows]}
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``nova eval plans`` options."""
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="eval set YAML")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def run(args: argparse.Namespace) -> int:
    """Print the table (plans vs fan-out) and optionally write JSON."""
    cases = load_cases(args.set)
    from nova_graph.roster import load_roster

    out = evaluate(cases, load_roster(args.default_roster), getattr(args, "build_graph", None))
    keys = list(out["plans"]["summary"])
    print(f"{'metric':45} {'plans':>12} {'fan-out':>12}")
    for k in keys:
        plans, fan_out = out["plans"]["summary"][k], out["fan_out"]["summary"][k]
        print(f"{k:45} {_fmt(plans):>12} {_fmt(fan_out):>12}")
    misses = [c for c in out["plans"]["cases"] if not c["exact"]]
    for c in misses:
        print(f"MISS: {c['request']!r} -> {c['predicted']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1), "utf-8")
    return 0
