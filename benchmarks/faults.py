"""Fault-injection target: 1,000 requests with 20 % of model calls raising or hanging (seeded).

    .venv/bin/python benchmarks/faults.py --requests 1000 --seed 7

Passes when 100 % of requests end with an answer or an explicit failure for every routed agent
(never an exception to the caller, never a missing part). Writes benchmarks/results/faults.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fault_injection import run_faults  # noqa: E402


def main() -> int:
    """Run the requests and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "faults.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nova-faults-") as tmp:
        report = run_faults(args.requests, seed=args.seed, data_dir=Path(tmp), rate=args.rate)
    accounted = report.answered_fully + report.answered_with_explicit_failures
    out = {
        "command": f"benchmarks/faults.py --requests {args.requests} --seed {args.seed} "
        f"--rate {args.rate}",
        **asdict(report),
        "accounted_for": accounted,
        "accounted_for_pct": round(100 * accounted / max(report.requests, 1), 2),
        "passed": report.ok and accounted == report.requests,
    }
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("violations", "exceptions")}))
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
