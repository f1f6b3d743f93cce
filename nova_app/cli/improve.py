"""``nova improve``: learn from logged feedback, keep changes the held-out set confirms.

``--dry-run`` shows proposals and their held-out checks without keeping anything;
``--list`` shows stored versions; ``--rollback VERSION`` makes an earlier version active again;
``--auto`` runs only when enough new signals arrived and records every decision;
``--diagnose`` shows per-agent failures and tool errors with proposed changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from nova_app.acceptance import packaged_acceptance_set


def _fraction(flag: str) -> Any:
    """An argparse type: a number from 0 to 1 (a share of the acceptance set)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} takes a number from 0 to 1 (0.01 = 1 point), got {text!r}"
            ) from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(
                f"{flag} must be from 0 to 1 (0.01 = 1 point of held-out accuracy), got {value}"
            )
        return value

    return parse


def _positive(flag: str) -> Any:
    """An argparse type: a whole number of at least 1."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag} must be at least 1, got {value}")
        return value

    return parse


def register(subparsers: Any) -> None:
    """Add the ``improve`` subcommand."""
    p = subparsers.add_parser(
        "improve", help="propose routing improvements from feedback and keep the ones that help"
    )
    p.add_argument(
        "--heldout",
        default=None,
        help="labelled acceptance set (default: the packaged nova_app/data/acceptance.yaml)",
    )
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.add_argument("--runlog", default=None, help="run log file (default: in the data dir)")
    p.add_argument(
        "--rounds", type=_positive("--rounds"), default=1, help="rounds to run (default: 1)"
    )
    p.add_argument("--dry-run", action="store_true", help="show proposals, apply nothing")
    p.add_argument(
        "--max-drop",
        type=_fraction("--max-drop"),
        default=0.02,
        help="largest per-agent recall drop a kept change may cause (default: 0.02)",
    )
    p.add_argument(
        "--min-gain",
        type=_fraction("--min-gain"),
        default=0.0,
        help="held-out accuracy must rise by more than this (default: 0)",
    )
    p.add_argument(
        "--correction-margin",
        type=_fraction("--correction-margin"),
        default=0.005,
        help="held-out accuracy a flagged correction (--should-be) may cost and still be kept "
        "(default: 0.005, half a point)",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="write the round reports as JSON")
    p.add_argument("--list", action="store_true", help="list stored versions")
    p.add_argument(
        "--rollback", default=None, metavar="VERSION", help="make VERSION the active one again"
    )
    p.add_argument(
        "--auto",
        action="store_true",
        help="run only when enough new signals arrived since the last automatic run; keep what "
        "passes the strict gate (each example checked on its own; nothing that was right may "
        "become wrong, no agent's requests taken) and record every decision in the version "
        "history",
    )
    p.add_argument(
        "--min-signals",
        type=_positive("--min-signals"),
        default=None,
        help="new signals --auto waits for (default: 20)",
    )
    p.add_argument(
        "--diagnose",
        action="store_true",
        help="per-agent failures and tool errors (which tool, which argument, how often) with "
        "proposed changes",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the requested action."""
    from nova_graph.improve.store import VersionStore
    from nova_graph.settings import default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    store = VersionStore(data_dir)
    if args.rollback:
        meta = store.rollback(args.rollback)
        print(f"active version: {meta.version} ({meta.change})")
        return 0
    if args.diagnose:
        return _diagnose(args, data_dir)
    if args.auto:
        return _auto(args, data_dir)
    if args.list:
        active = store.active()
        for m in store.versions():
            mark = "*" if m.version == active else " "
            scores = (
                f"{m.score_before * 100:.1f}% -> {m.score_after * 100:.1f}%"
                if m.score_before is not None and m.score_after is not None
                else ""
            )
            print(f"{mark} {m.version}  {m.created_at:%Y-%m-%d %H:%M}  {scores:<16}  {m.change}")
        if active is None:
            print("no versions yet: run `nova improve` after giving feedback")
        return 0
    return _improve(args, data_dir, store)


def _runlog_path(args: argparse.Namespace, data_dir: Path) -> Path:
    from nova_graph.runlog import RUNLOG_FILE

    return Path(args.runlog) if args.runlog else data_dir / RUNLOG_FILE


def _diagnose(args: argparse.Namespace, data_dir: Path) -> int:
    from nova_app import nova_roster
    from nova_graph.improve.diagnose import diagnose, diagnosis_text
    from nova_graph.improve.setup import RoutingSetup
    from nova_graph.improve.store import VersionStore
    from nova_graph.runlog import RunLog

    path = _runlog_path(args, data_dir)
    runs = RunLog(path).runs() if path.is_file() else []
    store = VersionStore(data_dir)
    setup = store.active_setup(RoutingSetup(nova_roster()))
    found = diagnose(runs, setup.roster)
    print(f"{len(runs)} logged runs")
    print(diagnosis_text(found))
    rewrites = _prompt_rewrites(found, setup, store, dry_run=args.dry_run)
    if args.json:
        body = {
            "agents": [d.model_dump(mode="json") for d in found],
            "prompt_rewrites": [r.model_dump(mode="json") for r in rewrites],
        }
        Path(args.json).write_text(json.dumps(body, indent=2) + "\n")
    return 0


def _prompt_rewrites(found: Any, setup: Any, store: Any, *, dry_run: bool) -> list[Any]:
    """With a configured model: validated system-prompt rewrites; kept ones become versions."""
    from nova_app import build_nova_graph
    from nova_graph.improve.prompts import rewrite_prompt
    from nova_graph.models import default_model, is_offline

    model = default_model()
    if is_offline(model):
        if any(d.tools for d in found):
            print("(configure a language model to get system-prompt rewrites checked by replay)")
        return []
    out = []
    for d in found:
        if not d.tools:
            continue
        rewrite = rewrite_prompt(d, setup.roster, model, build=build_nova_graph)
        if rewrite is None:
            continue
        out.append(rewrite)
        status = (
            "would keep" if dry_run and rewrite.kept else ("KEPT" if rewrite.kept else "rejected")
        )
        print(f"\nsystem prompt for {d.agent}: {status}; {rewrite.reason}\n  {rewrite.new_prompt}")
        if rewrite.kept and not dry_run:
            spec = setup.roster[d.agent].model_copy(update={"system_prompt": rewrite.new_prompt})
            new = setup.with_agents([spec if s.name == d.agent else s for s in setup.roster])
            store.ensure_base(setup)
            meta = store.commit(new, change=f"[rewrite_prompt] new system prompt for {d.agent}")
            print(f"  stored as {meta.version}")
            setup = new
    return out


def _auto(args: argparse.Namespace, data_dir: Path) -> int:
    from nova_app import nova_roster
    from nova_graph.improve.auto import DEFAULT_MIN_NEW_SIGNALS, improve_automatically
    from nova_graph.improve.labelled import load_labelled
    from nova_graph.improve.loop import AcceptancePolicy
    from nova_graph.improve.setup import RoutingSetup
    from nova_graph.runlog import RunLog

    outcome = improve_automatically(
        data_dir,
        heldout=load_labelled(args.heldout) if args.heldout else packaged_acceptance_set,
        start=RoutingSetup(nova_roster()),
        runlog=RunLog(_runlog_path(args, data_dir)),
        min_new_signals=args.min_signals or DEFAULT_MIN_NEW_SIGNALS,
        policy=AcceptancePolicy.strict(
            min_gain=args.min_gain,
            max_agent_drop=args.max_drop,
            correction_margin=args.correction_margin,
        ),
        rounds=args.rounds,
        progress=lambda s: print(s, file=sys.stderr),
    )
    print(outcome.reason)
    print(f"active version: {outcome.active or '(packaged roster)'}")
    return 0


def _improve(args: argparse.Namespace, data_dir: Path, store: Any) -> int:
    from nova_app import nova_roster
    from nova_graph.embeddings import default_encoder
    from nova_graph.improve.labelled import load_labelled
    from nova_graph.improve.loop import AcceptancePolicy, ImprovementLoop
    from nova_graph.improve.proposals import evidence_from_log
    from nova_graph.improve.routers import default_factory
    from nova_graph.improve.setup import RoutingSetup
    from nova_graph.models import default_model, is_offline
    from nova_graph.runlog import RunLog

    heldout = load_labelled(args.heldout) if args.heldout else packaged_acceptance_set()
    runlog_path = _runlog_path(args, data_dir)
    evidence = evidence_from_log(RunLog(runlog_path)) if runlog_path.is_file() else []
    if not evidence:
        print(
            "nova improve: no feedback or implicit signals in the run log yet; rate runs with "
            "`nova feedback RUN_ID good|bad --should-be AGENT`",
            file=sys.stderr,
        )
        return 2
    setup = store.active_setup(RoutingSetup(nova_roster()))
    model = default_model()
    arbiter = None if is_offline(model) else model
    loop = ImprovementLoop(
        default_factory(model=arbiter),
        heldout,
        policy=AcceptancePolicy(
            min_gain=args.min_gain,
            max_agent_drop=args.max_drop,
            correction_margin=args.correction_margin,
        ),
        store=None if args.dry_run else store,
        encode=default_encoder().encode,
        model=arbiter,
        progress=lambda s: print(s, file=sys.stderr),
        bars=True,
    )
    print(
        f"evidence: {len(evidence)} runs "
        f"({', '.join(f'{k} {v}' for k, v in Counter(e.source for e in evidence).items())}), "
        f"{sum(e.missed for e in evidence)} misrouted with the right agent known"
    )
    reports = []
    for r in range(1, args.rounds + 1):
        setup, report = loop.run_round(setup, evidence, round_no=r, dry_run=args.dry_run)
        reports.append(report)
        print(
            f"\nround {r}: held-out accuracy {report.accuracy_before * 100:.1f}% -> "
            f"{report.accuracy_after * 100:.1f}%"
        )
        for o in report.outcomes:
            if o.verdict is None:
                status = "advisory"
            elif o.version:
                status = f"KEPT as {o.version}"
            else:
                status = "would keep" if args.dry_run and o.verdict.accepted else "rejected"
            why = o.verdict.reason if o.verdict else o.proposal.rationale
            print(f"  {status:<16} {o.proposal.summary()}\n  {'':<16} {why}")
        if not report.accepted or args.dry_run:
            break
    if args.json:
        Path(args.json).write_text(
            json.dumps([r.model_dump(mode="json") for r in reports], indent=2) + "\n"
        )
    if not args.dry_run:
        print(f"\nactive version: {store.active() or '(packaged roster)'}")
    return 0
