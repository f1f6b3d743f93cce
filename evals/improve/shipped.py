"""Self-improvement from the SHIPPED roster, fed implicit signals only (no ratings).

Run from the repository root::

    .venv/bin/python -m evals.improve.shipped            # clean signals, then 20 % wrong

The packaged 34-agent roster and router are the start. Nova's packaged acceptance set is split
per label: one half gates changes, the other half (never seen by the loop) is the test. The
usage stream is ``evals/roster/dev.yaml`` (written apart from both): each request is routed by
the current router and recorded in a real run log on its own thread, and the simulated user
behaves, never rates:

- an ambiguous decision is asked back and answered with the intended agent when offered
  (a ``clarification`` signal);
- a misrouted request is followed by "no, I meant <the intended agent's description>", routed
  by the router itself (a ``correction`` signal, when it lands elsewhere than the first turn);
- a refused request is followed by a rephrase (the intended agent's description), a
  ``rephrase`` signal when routed confidently.

With ``--wrong 0.2``, a fifth of the corrections name a wrong agent's description instead.

The loop checks every candidate change on its own (one added example, or one removed example of
the agent that wrongly attracted a request), strongest evidence first, on top of the changes
already kept. A kept change is local (``ImprovementLoop.strict`` keeps it in the version's
example overlay, ``nova_graph/routing/overlay.py``): the packaged router is never retrained, and
an added example decides only requests within the calibrated radius of it, nearer to it than to
any other agent's or out-of-scope example, that the packaged router already ranks its agent
first or second for; every other decision is the packaged router's own.

The gate: no request of the gating half, and no request users' behaviour labelled (the replayed
signals, aggregated per request across rounds), that was right may become wrong;
no agent's gating recall may drop by more than 2 points; out-of-scope refusals and clarifying
questions may not fall; no request of an agent the change is not for (on the gating half, in
the replayed signals, or among the roster's examples nearest the changed example; a removed
example stays a request of its agent) may fall below the router's calibrated ambiguity margin
or lose more than that margin towards the change's agent (``AcceptancePolicy.strict()``); and
the change must either raise gating accuracy or fix a replayed request. An example addition that
would become the nearest example of another agent's gating or replayed request is rejected
before a router is built (it is not local).

``--dev`` is for developing the loop without touching the never-seen half: the gating half is
split again into a gate and a stand-in test, and no README table is written.

Writes ``evals/results/improve_shipped.json`` and the table in README.md's Self-improvement
section.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nova_app import nova_roster
from nova_app.acceptance import packaged_acceptance_set
from nova_graph.improve import (
    AcceptancePolicy,
    ImprovementLoop,
    LabelledRequest,
    RoutingSetup,
    VersionStore,
    load_labelled,
    score_router,
    stratified_split,
)
from nova_graph.improve.metrics import RoutingScore, top_agent
from nova_graph.improve.proposals import evidence_from_log
from nova_graph.improve.routers import default_factory
from nova_graph.improve.setup import RouterFactory
from nova_graph.roster import Roster
from nova_graph.routing.decision import Router, route_all
from nova_graph.runlog import RunLog, RunRecord, new_run_id
from nova_graph.signals import correction_text

ROOT = Path(__file__).resolve().parents[2]
STREAM = ROOT / "evals" / "roster" / "dev.yaml"
RESULTS = ROOT / "evals" / "results" / "improve_shipped.json"
README = ROOT / "README.md"


def _record(text: str, decision: Any, thread: str, clarified: str | None = None) -> RunRecord:
    top = top_agent(decision)
    routes = [clarified] if clarified else ([top] if top else [])
    return RunRecord(
        run_id=new_run_id(),
        created_at=datetime.now(UTC),
        thread_id=thread,
        request=text,
        decision=decision.model_dump(),
        routes=routes,
        status="ok" if routes else "out_of_scope",
        clarification={"chosen": [clarified]} if clarified else None,
    )


def run(
    name: str,
    factory: RouterFactory,
    start: RoutingSetup,
    stream: Sequence[LabelledRequest],
    acceptance: Sequence[LabelledRequest],
    test: Sequence[LabelledRequest],
    *,
    rounds: int,
    wrong: float,
    seed: int,
) -> dict[str, Any]:
    """Rounds of simulated use, each followed by one improvement round."""
    work = Path(tempfile.mkdtemp(prefix=f"nova-shipped-{name}-"))
    runlog, store = RunLog(work / "runs.sqlite"), VersionStore(work)
    loop = ImprovementLoop.strict(
        factory,
        acceptance,
        policy=AcceptancePolicy.strict(max_agent_drop=0.02),
        store=store,
        progress=lambda s: print(f"[{name}] {s}", file=sys.stderr),
    )
    rng = random.Random(seed)
    names = start.roster.names
    setup = start
    first = score_router(factory.router(setup), test, names)
    before = first
    rows: list[dict[str, Any]] = []
    chunks = [list(stream[i::rounds]) for i in range(rounds)]
    for r, chunk in enumerate(chunks, start=1):
        t0 = time.perf_counter()
        counts = _simulate(factory.router(setup), chunk, setup.roster, runlog, wrong, rng)
        evidence = evidence_from_log(runlog)
        setup, report = loop.run_round(setup, evidence, round_no=r)
        after = score_router(factory.router(setup), test, names)
        rows.append(
            {
                "round": r,
                "requests": len(chunk),
                "signals_this_round": counts,
                "evidence_total": len(evidence),
                "kept": [o.proposal.summary() for o in report.accepted],
                "acceptance_before": report.accuracy_before,
                "acceptance_after": report.accuracy_after,
                "test_before": before.accuracy,
                "test_after": after.accuracy,
                "test_oos_recall": after.oos_recall,
                "worst_agent_change_vs_start": _worst(first, after),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(f"[{name}] {json.dumps(rows[-1])}", file=sys.stderr)
        before = after
    return {
        "name": name,
        "wrong": wrong,
        "test_n": before.n,
        "acceptance_n": len(acceptance),
        "test_start": first.accuracy,
        "test_end": before.accuracy,
        "oos_start": first.oos_recall,
        "oos_end": before.oos_recall,
        "worst_agent_change": _worst(first, before),
        "min_test": min([first.accuracy, *(float(row["test_after"]) for row in rows)]),
        "rounds": rows,
        "versions": [m.version for m in store.versions()],
        "work_dir": str(work),
    }


def _simulate(
    router: Router,
    chunk: Sequence[LabelledRequest],
    roster: Roster,
    runlog: RunLog,
    wrong: float,
    rng: random.Random,
) -> dict[str, int]:
    """Turns on one thread per request: the first turn, then the user's reaction."""
    decisions = route_all(router, [i.text for i in chunk])
    counts = {"clarification": 0, "correction": 0, "rephrase": 0, "wrong_corrections": 0}
    pending: list[tuple[str, str]] = []  # (thread, reaction text)
    for n, (item, decision) in enumerate(zip(chunk, decisions, strict=True)):
        thread = f"sim-{rng.getrandbits(48):012x}-{n}"
        intended = item.agents[0] if item.agents else None
        top = top_agent(decision)
        clarified = intended if decision.ambiguous and intended in decision.agents else None
        for sig in runlog.add(_record(item.text, decision, thread, clarified=clarified)):
            counts[sig.kind] = counts.get(sig.kind, 0) + 1
        if clarified or intended is None or top == intended:
            continue
        target = intended
        if top is not None and rng.random() < wrong:
            target = rng.choice([a for a in roster.names if a not in (intended, top)])
            counts["wrong_corrections"] += 1
        said = roster[target].description.rstrip(".")
        said = said[0].lower() + said[1:]
        pending.append((thread, f"no, I meant {said}" if top is not None else said))
    texts = [correction_text(t) or t for _, t in pending]
    for (thread, text), decision in zip(pending, route_all(router, texts), strict=True):
        for sig in runlog.add(_record(text, decision, thread)):
            counts[sig.kind] = counts.get(sig.kind, 0) + 1
    return counts


def _worst(first: RoutingScore, now: RoutingScore) -> float:
    a, b = first.agent_recall(), now.agent_recall()
    return min((b.get(k, 0.0) - v for k, v in a.items()), default=0.0)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}"


def markdown(results: list[dict[str, Any]], command: str, seconds: float) -> str:
    """The README table."""
    out = [
        f"Command: `{command}` ({seconds / 60:.0f} min on the shared CPU). Start: the shipped "
        "roster and router; gate: half of the packaged acceptance set; test: the other half "
        f"({results[0]['test_n']} requests incl. out-of-scope), never seen by the loop. Signals "
        "are implicit only (clarifications, corrections, rephrases; no ratings).",
        "",
        "| run | round | signals (clar./corr./reph., wrong) | kept changes | gate acc. "
        "| test acc. | test OOS recall | worst agent change vs start (test) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        out.append(
            f"| {res['name']} | start | - | - | - | {_pct(res['test_start'])} | "
            f"{_pct(res['oos_start'])} | - |"
        )
        for row in res["rounds"]:
            c = row["signals_this_round"]
            out.append(
                f"| {res['name']} | {row['round']} | {c.get('clarification', 0)}/"
                f"{c.get('correction', 0)}/{c.get('rephrase', 0)}, {c.get('wrong_corrections', 0)}"
                f" | {len(row['kept'])} | {_pct(row['acceptance_before'])} → "
                f"{_pct(row['acceptance_after'])} | {_pct(row['test_after'])} | "
                f"{_pct(row['test_oos_recall'])} | "
                f"{row['worst_agent_change_vs_start'] * 100:+.1f} |"
            )
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the clean and the noisy experiment; write JSON and the README table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--wrong", type=float, default=0.2, help="share of wrong corrections (run 2)")
    p.add_argument("--only", choices=["clean", "noisy"], default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--dev-seed",
        type=int,
        default=None,
        help="with --dev: seed of the gate / stand-in split and of the stream order (default: "
        "--seed + 1); the never-seen half stays the one --seed sets aside",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--readme", type=Path, default=README)
    p.add_argument(
        "--dev",
        action="store_true",
        help="development run: the gating half is split again into a gate and a stand-in test; "
        "the never-seen half is not loaded (writes no README table)",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    factory = RouterFactory(build=default_factory().build)  # the graph's builder, cached
    acceptance, test = stratified_split(packaged_acceptance_set(), 0.5, seed=args.seed)
    order_seed = args.seed
    if args.dev:  # tune on the gating half only: the real test half stays unseen
        dev_seed = args.seed + 1 if args.dev_seed is None else args.dev_seed
        acceptance, test = stratified_split(acceptance, 0.5, seed=dev_seed)
        order_seed = args.seed if args.dev_seed is None else dev_seed
        args.readme = None
    stream = load_labelled(STREAM)
    random.Random(order_seed).shuffle(stream)
    start = RoutingSetup(nova_roster())
    results = []
    for name, wrong in (("clean", 0.0), ("noisy", args.wrong)):
        if args.only not in (None, name):
            continue
        results.append(
            run(
                name,
                factory,
                start,
                stream,
                acceptance,
                test,
                rounds=args.rounds,
                wrong=wrong,
                seed=order_seed,
            )
        )
    seconds = time.perf_counter() - t0
    command = "python -m evals.improve.shipped" + "".join(
        " " + a for a in (argv if argv is not None else sys.argv[1:])
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": command, "results": results}, indent=2) + "\n")
    table = markdown(results, command, seconds)
    print(table)
    if args.readme is not None:
        _write_readme(args.readme, table)
    return 0


def _write_readme(path: Path, table: str) -> None:
    begin, end = "<!-- improve-shipped:begin -->", "<!-- improve-shipped:end -->"
    text = path.read_text("utf-8")
    if begin not in text:
        return
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1] if end in rest else ""
    path.write_text(f"{head}{begin}\n{table}{end}{tail}", "utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
