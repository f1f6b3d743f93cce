"""``nova init-demo``: create the demo ERP, pipeline store and site sources under the data dir."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nova_app.tools.erp_db import create_demo_erp
from nova_app.tools.pipelines.runner import PipelineRunner
from nova_graph.settings import default_data_dir


def register(subparsers: Any) -> None:
    """Add ``nova init-demo``."""
    p = subparsers.add_parser("init-demo", help="create the demo ERP and pipeline data")
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.add_argument("--force", action="store_true", help="recreate the demo ERP from scratch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Create (or, with --force, recreate) the demo data and print where it lives."""
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    erp = create_demo_erp(data_dir, overwrite=args.force)
    runner = PipelineRunner(data_dir)
    with runner.db():
        pass
    print(f"demo ERP: {erp}")
    print(f"pipeline runs: {data_dir / 'pipelines.sqlite'}")
    print(f"pipelines: {', '.join(runner.pipelines)}")
    return 0
