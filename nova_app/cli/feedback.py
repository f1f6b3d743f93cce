"""``nova feedback RUN_ID good|bad [--should-be AGENT] [--comment ...]``: rate a logged run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

RUNLOG_HELP = "run log file (default: runs.sqlite in the data directory)"


def register(subparsers: Any) -> None:
    """Add the ``feedback`` subcommand."""
    p = subparsers.add_parser(
        "feedback", help="say whether a logged run was routed and answered well"
    )
    p.add_argument("run_id", help="the run id printed by `nova ask`")
    p.add_argument("verdict", choices=["good", "bad"], help="was the run right?")
    p.add_argument(
        "--should-be", default=None, metavar="AGENT", help="the agent that should have answered"
    )
    p.add_argument("--comment", default=None, help="free-text note kept with the feedback")
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.add_argument("--runlog", default=None, help=RUNLOG_HELP)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Record the feedback and confirm it."""
    from nova_app import nova_roster
    from nova_graph.improve.store import active_roster
    from nova_graph.runlog import RUNLOG_FILE, RunLog
    from nova_graph.settings import default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    log = RunLog(args.runlog or data_dir / RUNLOG_FILE)
    roster = active_roster(nova_roster(), data_dir)
    fb = log.add_feedback(
        args.run_id,
        args.verdict,
        should_be=args.should_be,
        comment=args.comment,
        known_agents=roster.names,
    )
    note = f" (should be: {fb.should_be})" if fb.should_be else ""
    print(f"feedback recorded for run {fb.run_id}: {fb.verdict}{note}")
    return 0
