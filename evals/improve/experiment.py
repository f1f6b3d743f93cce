"""The self-improvement experiment: start weak, simulate usage with feedback, run the loop.

Run from the repository root::

    .venv/bin/python -m evals.improve.experiment            # roster + CLINC150
    .venv/bin/python -m evals.improve.experiment --only roster
    .venv/bin/python -m evals.improve.experiment --shipped    # = python -m evals.improve.shipped

Roster: the packaged 34-agent roster cut to 3 example requests per agent. Usage is simulated
with the roster's other example requests (labelled; feedback ``good`` or ``bad --should-be``),
recorded in a real run log. Changes are accepted on half of ``evals/roster/heldout.yaml``
(stratified per agent) and reported on both halves; the other half is never seen by the loop.

CLINC150 (domains as routes): a router from a few train utterances per domain; feedback from
half of the val split, acceptance on the other half, accuracy reported on the test split.

Writes ``evals/results/improve.json`` and the Markdown tables in ``evals/improve/README.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nova_app import nova_roster
from nova_graph.embeddings import MiniLMEncoder
from nova_graph.improve import (
    AcceptancePolicy,
    ImprovementLoop,
    LabelledRequest,
    RoutingSetup,
    VersionStore,
    evidence_from_runs,
    load_labelled,
    score_router,
    simulate_usage,
    stratified_split,
    weakened,
)
from nova_graph.improve.routers import default_factory
from nova_graph.improve.setup import RouterFactory
from nova_graph.roster import AgentSpec, Roster
from nova_graph.runlog import RunLog

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "evals" / "roster" / "heldout.yaml"
#: The public CLINC150 intent benchmark (Larson et al., 2019), in ../shared beside the repository
CLINC = ROOT.parent / "shared" / "data" / "clinc150"
RESULTS = ROOT / "evals" / "results" / "improve.json"
NOTES = ROOT / "evals" / "improve" / "README.md"


def _chunks(items: Sequence[Any], n: int) -> list[list[Any]]:
    return [list(items[i::n]) for i in range(n)]


def run_experiment(
    name: str,
    factory: RouterFactory,
    start: RoutingSetup,
    stream: Sequence[LabelledRequest],
    acceptance: Sequence[LabelledRequest],
    test: Sequence[LabelledRequest],
    *,
    rounds: int,
    max_examples_per_agent: int,
    policy: AcceptancePolicy,
    encode: Any,
) -> dict[str, Any]:
    """Simulate ``rounds`` of usage + improvement; return per-round and per-agent results."""
    work = Path(tempfile.mkdtemp(prefix=f"nova-improve-{name}-"))
    runlog = RunLog(work / "runs.sqlite")
    store = VersionStore(work)
    loop = ImprovementLoop(
        factory,
        acceptance,
        policy=policy,
        store=store,
        encode=encode,
        max_examples_per_agent=max_examples_per_agent,
        progress=lambda s: print(f"[{name}] {s}", file=sys.stderr),
    )
    names = start.roster.names
    setup = start
    test_start = score_router(factory.router(setup), test, names)
    acc_start = loop.score(setup)
    rows = []
    test_before = test_start
    for r, chunk in enumerate(_chunks(stream, rounds), start=1):
        t0 = time.perf_counter()
        simulate_usage(factory.router(setup), chunk, runlog)
        evidence = evidence_from_runs(runlog.runs(with_feedback_only=True))
        setup, report = loop.run_round(setup, evidence, round_no=r)
        test_after = score_router(factory.router(setup), test, names)
        rows.append(
            {
                "round": r,
                "requests_this_round": len(chunk),
                "feedback_total": len(evidence),
                "proposals": len(report.outcomes),
                "accepted": len(report.accepted),
                "accepted_kinds": sorted({o.proposal.kind for o in report.accepted}),
                "acceptance_before": report.accuracy_before,
                "acceptance_after": report.accuracy_after,
                "test_before": test_before.accuracy,
                "test_after": test_after.accuracy,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(
            f"[{name}] round {r}: acceptance {report.accuracy_before:.3f} -> "
            f"{report.accuracy_after:.3f}; test {test_before.accuracy:.3f} -> "
            f"{test_after.accuracy:.3f}",
            file=sys.stderr,
        )
        test_before = test_after
    acc_end = loop.score(setup)
    per_agent: dict[str, dict[str, float | None]] = {}
    for a in names:
        per_agent[a] = {
            "test_before": test_start.per_agent[a].recall if a in test_start.per_agent else None,
            "test_after": test_before.per_agent[a].recall if a in test_before.per_agent else None,
            "acceptance_before": acc_start.per_agent[a].recall,
            "acceptance_after": acc_end.per_agent[a].recall,
        }
    worst_test = _worst_change(per_agent, "test")
    worst_acc = _worst_change(per_agent, "acceptance")
    return {
        "name": name,
        "agents": len(names),
        "stream": len(stream),
        "acceptance_n": len(acceptance),
        "test_n": len(test),
        "rounds": rows,
        "acceptance_start": acc_start.accuracy,
        "acceptance_end": acc_end.accuracy,
        "test_start": test_start.accuracy,
        "test_end": test_before.accuracy,
        "worst_agent_change_test": worst_test,
        "worst_agent_change_acceptance": worst_acc,
        "per_agent": per_agent,
        "versions": [m.version for m in store.versions()],
        "work_dir": str(work),
    }


def roster_experiment(args: argparse.Namespace, factory: RouterFactory, encode: Any) -> dict:
    """The 34-agent roster cut to a few examples per agent."""
    full = nova_roster()
    weak = weakened(full, args.examples_per_agent)
    stream = [
        LabelledRequest(text=x, agents=[spec.name])
        for spec in full
        for x in spec.examples[args.examples_per_agent :]
    ]
    random.Random(args.seed).shuffle(stream)
    heldout = [i for i in load_labelled(HELDOUT) if len(i.agents) == 1]
    acceptance, test = stratified_split(heldout, 0.5, seed=args.seed)
    result = run_experiment(
        "roster",
        factory,
        RoutingSetup(weak),
        stream,
        acceptance,
        test,
        rounds=args.rounds,
        max_examples_per_agent=args.max_examples,
        policy=AcceptancePolicy(max_agent_drop=args.max_drop),
        encode=encode,
    )
    result["full_roster_test"] = score_router(factory.router(RoutingSetup(full)), test).accuracy
    result["examples_per_agent_start"] = args.examples_per_agent
    return result


def clinc_roster(examples: dict[str, list[str]]) -> Roster:
    """CLINC150 domains as agents (routing only: no tools)."""
    return Roster(
        AgentSpec(
            name=d,
            family="general",
            description=f"CLINC150 {d.replace('_', ' ')} requests",
            system_prompt=f"You handle {d} requests.",
            examples=xs,
        )
        for d, xs in examples.items()
    )


def clinc_experiment(args: argparse.Namespace, factory: RouterFactory, encode: Any) -> dict:
    """CLINC150 domains: weak start from a few train utterances per domain."""
    data = json.loads((args.clinc_data / "data_full.json").read_text())
    domains = json.loads((args.clinc_data / "domains.json").read_text())
    domain_of = {intent: d for d, intents in domains.items() for intent in intents}

    def labelled(split: str) -> list[LabelledRequest]:
        return [LabelledRequest(text=t, agents=[domain_of[i]]) for t, i in data[split]]

    by_domain: dict[str, list[str]] = defaultdict(list)
    train = list(data["train"])
    random.Random(args.seed).shuffle(train)
    for text, intent in train:
        if len(by_domain[domain_of[intent]]) < args.clinc_examples:
            by_domain[domain_of[intent]].append(text)
    feedback, acceptance = stratified_split(labelled("val"), 0.5, seed=args.seed)
    random.Random(args.seed).shuffle(feedback)
    result = run_experiment(
        "clinc150",
        factory,
        RoutingSetup(clinc_roster(dict(sorted(by_domain.items())))),
        feedback,
        acceptance,
        labelled("test"),
        rounds=args.rounds,
        max_examples_per_agent=args.clinc_max_examples,
        policy=AcceptancePolicy(max_agent_drop=args.max_drop),
        encode=encode,
    )
    result["examples_per_agent_start"] = args.clinc_examples
    return result


def _pct(x: float) -> str:
    return f"{x * 100:.1f}"


def markdown(results: list[dict[str, Any]], command: str) -> str:
    """Before/after tables for the README."""
    out = [
        "# Self-improvement experiment",
        "",
        f"Command: `{command}` (numbers below are from that run).",
        "",
        "| experiment | round | feedback runs | proposals | kept | acceptance before → after "
        "| test before → after |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for row in res["rounds"]:
            out.append(
                f"| {res['name']} | {row['round']} | {row['feedback_total']} | "
                f"{row['proposals']} | {row['accepted']} | "
                f"{_pct(row['acceptance_before'])} → {_pct(row['acceptance_after'])} | "
                f"{_pct(row['test_before'])} → {_pct(row['test_after'])} |"
            )
    out += [
        "",
        "| experiment | agents | start examples/agent | acceptance (n) | test (n) | test start "
        "| test end | change | worst agent change (test) | worst agent change (acceptance) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        out.append(
            f"| {res['name']} | {res['agents']} | {res['examples_per_agent_start']} | "
            f"{_pct(res['acceptance_start'])} → {_pct(res['acceptance_end'])} "
            f"({res['acceptance_n']}) | {res['test_n']} | {_pct(res['test_start'])} | "
            f"{_pct(res['test_end'])} | {(res['test_end'] - res['test_start']) * 100:+.1f} | "
            f"{res['worst_agent_change_test'] * 100:+.1f} | "
            f"{res['worst_agent_change_acceptance'] * 100:+.1f} |"
        )
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments, write the JSON results and the Markdown tables."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--shipped" in args_in:  # the shipped roster with implicit signals: its own module
        from evals.improve.shipped import main as shipped

        return shipped([a for a in args_in if a != "--shipped"])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["roster", "clinc150"], default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--examples-per-agent", type=int, default=3)
    p.add_argument(
        "--max-examples",
        type=int,
        default=10,
        help="examples one proposal may add to one roster agent",
    )
    p.add_argument("--clinc-data", type=Path, default=CLINC, help="CLINC150 folder")
    p.add_argument("--clinc-examples", type=int, default=3)
    p.add_argument("--clinc-max-examples", type=int, default=40)
    p.add_argument("--max-drop", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--notes", type=Path, default=NOTES)
    args = p.parse_args(argv)
    encoder = MiniLMEncoder(cache_size=50_000)
    factory = default_factory()  # the graph's own builder (routing.default.default_router)
    results = []
    if args.only in (None, "roster"):
        results.append(roster_experiment(args, factory, encoder.encode))
    if args.only in (None, "clinc150"):
        results.append(clinc_experiment(args, factory, encoder.encode))
    command = (
        "python -m evals.improve.experiment"
        + (" " + " ".join(argv) if argv else " " + " ".join(sys.argv[1:])).rstrip()
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": command, "results": results}, indent=2) + "\n")
    table = markdown(results, command.strip())
    print(table)
    _write_notes(args.notes, table)
    return 0


def _write_notes(path: Path, table: str) -> None:
    """Replace the generated block of the notes file with the new tables."""
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = path.read_text("utf-8") if path.is_file() else f"{begin}\n{end}\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1] if end in rest else ""
    path.write_text(f"{head}{begin}\n{table}{end}{tail}", "utf-8")


if __name__ == "__main__":
    raise SystemExit(main())


def _worst_change(per_agent: dict[str, dict[str, float | None]], part: str) -> float:
    """The largest per-agent fall on ``part`` ("test" or "acceptance"), over the agents scored
    both before and after (an agent with no request in a set has no recall there)."""
    changes = [
        after - before
        for v in per_agent.values()
        if (before := v[f"{part}_before"]) is not None and (after := v[f"{part}_after"]) is not None
    ]
    return min(changes, default=0.0)
