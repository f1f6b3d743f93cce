"""Never twice: approved writes with injected faults after the effect; count duplicated effects.

    .venv/bin/python benchmarks/side_effects.py --runs 100

Each run approves one write on a fresh data dir (alternately ``create_purchase_order``, an ERP
write recorded in the ERP's own transaction, and ``backup_now``, a pipeline writing files), then
injects one fault after its effect, cycling through: a transient model error (the agent node is
retried), a time-out of the agent (retried while the first attempt's thread is abandoned), kill -9
after the effect before anything is checkpointed, and kill -9 between the effect and the ledger's
record of it; the thread is then finished (resumed in a new process after a kill). Prints the
number of duplicated side effects (target 0) and writes benchmarks/results/side_effects.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.side_effects import run_rounds  # noqa: E402


def main() -> int:
    """Run the rounds, print the duplicate count and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/side_effects.json"))
    args = parser.parse_args()
    report = run_rounds(args.runs)
    total, lost = report["duplicated_side_effects"], report["lost_side_effects"]
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"duplicated side effects: {total} in {args.runs} runs (lost: {lost})")
    return 0 if total == lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
