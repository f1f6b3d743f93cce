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
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _worker(mode: str, db: Path, thread: str, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.durable_worker", mode, str(db), thread, str(log)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def kill_and_resume(workdir: Path, *, settle: float = 0.5, limit: float = 60.0) -> dict[str, Any]:
    """One repetition; returns what was observed and whether it passed."""
    db, log, thread = workdir / "checkpoints.sqlite", workdir / "runs.log", "t-kill"
    a = _worker("run", db, thread, log)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        lines = _lines(log)
        if any(x.startswith("clock done") for x in lines) and any(
            x.startswith("words start") for x in lines
        ):
            break
        if a.poll() is not None:
            raise RuntimeError(f"worker exited early: {a.stderr.read() if a.stderr else ''}")
        time.sleep(0.05)
    else:
        a.kill()
        raise RuntimeError("worker did not reach the slow agent in time")
    time.sleep(settle)  # let the finished agent's writes reach SQLite, as in any real crash
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    killed_lines = _lines(log)
    b = _worker("resume", db, thread, log)
    out, err = b.communicate(timeout=limit)
    if b.returncode != 0:
        raise RuntimeError(f"resume failed: {err[-2000:]}")
    state = json.loads(out.strip().splitlines()[-1])
    lines = _lines(log)
    resumed = lines[len(killed_lines) :]
    ai = [m for m in state["messages"] if m[0] == "AIMessage"]
    human = [m for m in state["messages"] if m[0] == "HumanMessage"]
    checks = {
        "killed_with_exit_minus_9": a.returncode == -signal.SIGKILL,
        "both_results_ok": state["results"] == {"clock": "ok", "words": "ok"},
        "no_failures": state["failures"] == [],
        "one_request_one_answer": len(human) == 1 and len(ai) == 1,
        "clock_ran_once": sum(x.startswith("clock done") for x in lines) == 1,
        "clock_not_rerun_on_resume": not any(x.startswith("clock") for x in resumed),
        "words_completed_once": sum(x.startswith("words done") for x in lines) == 1,
        "answer_has_both_parts": bool(ai)
        and "clock answer" in ai[0][1]
        and "words answer" in ai[0][1],
    }
    return {"passed": all(checks.values()), "checks": checks, "log": lines}


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
