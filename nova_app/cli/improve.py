"""``nova improve``: learn from logged feedback, keep changes the held-out set confirms.

``--dry-run`` shows proposals and their held-out checks without keeping anything;
``--list`` shows stored versions; ``--rollback VERSION`` makes an earlier version active again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ACCEPTANCE_SET = "acceptance.yaml"
"""Nova's packaged acceptance set (``nova_graph/data``), versioned with the roster."""


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


def packaged_acceptance_set() -> Any:
    """Nova's packaged acceptance set as labelled requests (works from any folder)."""
    from importlib import resources

    import yaml

    from nova_graph.improve.labelled import parse_labelled

    text = resources.files("nova_app.data").joinpath(ACCEPTANCE_SET).read_text("utf-8")
    return parse_labelled(yaml.safe_load(text), where=f"nova_graph/data/{ACCEPTANCE_SET}")


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


def _improve(args: argparse.Namespace, data_dir: Path, store: Any) -> int:
    from nova_app import nova_roster
    from nova_graph.embeddings import default_encoder
    from nova_graph.improve.labelled import load_labelled
    from nova_graph.improve.loop import AcceptancePolicy, ImprovementLoop
    from nova_graph.improve.proposals import evidence_from_runs
    from nova_graph.improve.routers import default_factory
    from nova_graph.improve.setup import RoutingSetup
    from nova_graph.models import default_model, is_offline
    from nova_graph.runlog import RUNLOG_FILE, RunLog

    heldout = load_labelled(args.heldout) if args.heldout else packaged_acceptance_set()
    runlog_path = Path(args.runlog) if args.runlog else data_dir / RUNLOG_FILE
    runs = RunLog(runlog_path).runs(with_feedback_only=True) if runlog_path.is_file() else []
    evidence = evidence_from_runs(runs)
    if not evidence:
        print(
            "nova improve: no feedback in the run log yet; rate runs with "
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
        f"evidence: {len(evidence)} rated runs, "
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
