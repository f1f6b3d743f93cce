"""What one worker-lane hand-off costs the calling thread, and what sleeping alone costs it.

The plans benchmark (``benchmarks/plans.py``) charges Nova for the calling thread's CPU time; with
the default per-agent time limit each agent attempt runs on its worker lane while the calling
thread waits. This measures that wait in isolation, in one process, interleaved: a ~1 ms piece of
work run in the calling thread, on a :class:`~nova_graph.reliability.lanes.WorkerLane`, or
replaced by a 1.5 ms ``time.sleep``; then the same small piece of bookkeeping (300 dict inserts,
standing in for the orchestration after an agent returns). For each it reports the calling
thread's CPU time for the call itself (minus the work's own CPU time when inline) and for the
bookkeeping after it. On a virtual machine whose idle vCPUs halt, waking a thread that slept
costs CPU time, and the work right after it runs slower, more so when the machine is quiet.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/handoff.py [--runs 400]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from nova_graph.reliability.lanes import WorkerLane


def work() -> int:
    """About a millisecond of allocation-heavy Python, as an agent step would be."""
    return len([{"a": i, "b": str(i)} for i in range(6000)])


def bookkeeping() -> dict[str, list[int]]:
    """A small piece of orchestration-like work."""
    return {str(i): [i, i] for i in range(300)}


def main() -> None:
    """Measure the three ways and print the medians (µs) as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    lane = WorkerLane("handoff", workers=1)

    def inline() -> float:
        started = time.thread_time()
        work()
        return time.thread_time() - started  # the work's own CPU time, taken out below

    def in_lane() -> float:
        lane.call(work, 120.0)
        return 0.0

    def sleep() -> float:
        time.sleep(0.0015)
        return 0.0

    ways: dict[str, Callable[[], float]] = {"inline": inline, "lane": in_lane, "sleep": sleep}
    calls: dict[str, list[float]] = {name: [] for name in ways}
    after: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(args.runs + 20):
        for name, way in ways.items() if i % 2 == 0 else reversed(ways.items()):
            started = time.thread_time()
            own = way()
            middle = time.thread_time()
            bookkeeping()
            if i >= 20:  # warm-up
                calls[name].append((middle - started - own) * 1e6)
                after[name].append((time.thread_time() - middle) * 1e6)
    print(
        json.dumps(
            {
                name: {
                    "call_cpu_us": round(statistics.median(calls[name]), 1),
                    "bookkeeping_after_cpu_us": round(statistics.median(after[name]), 1),
                }
                for name in ways
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
