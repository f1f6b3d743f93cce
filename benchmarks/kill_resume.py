"""kill -9 a process mid-run (a slow agent), resume the thread in a new process, check the result.

    .venv/bin/python benchmarks/kill_resume.py --repeat 20

Each repetition: process A starts a two-agent request on a fresh SQLite checkpoint; once the fast
agent (clock) has finished and the slow one (words) has started, A gets SIGKILL. Process B resumes
the thread with ``invoke(None)``. A repetition passes when B completes with both results ok, no
failures, exactly one composed answer, clock run exactly once overall (its result survived the
kill: not re-run, not duplicated) and words completed exactly once. Writes
benchmarks/results/kill_resume.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.durable_worker import kill_and_resume  # noqa: E402


def main() -> int:
    """Run the repetitions and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "kill_resume.json"))
    args = parser.parse_args()
    runs = []
    started = time.perf_counter()
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="nova-kill-") as tmp:
            r = kill_and_resume(Path(tmp))
        runs.append({"repetition": i + 1, **r})
        print(f"{i + 1:>3}: {'PASS' if r['passed'] else 'FAIL ' + str(r['checks'])}", flush=True)
    passed = sum(r["passed"] for r in runs)
    report = {
        "command": f"benchmarks/kill_resume.py --repeat {args.repeat}",
        "repetitions": args.repeat,
        "passed": passed,
        "seconds": round(time.perf_counter() - started, 1),
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"{passed}/{args.repeat} kill -9 resumes complete with no lost or duplicated results")
    return 0 if passed == args.repeat else 1


if __name__ == "__main__":
    sys.exit(main())
