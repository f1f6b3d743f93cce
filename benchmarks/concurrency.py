"""Throughput with the SQLite checkpointer: N requests at concurrency c, against c = 1, one run.

The full Nova graph (default SQLite checkpointer in a temporary data dir, table router over
tests/data/roster_small.yaml, offline model) answers the same request set through ``ainvoke`` on
one event loop, each request on its own thread id, with at most c running at once. Rounds are
interleaved (every c in every round) and the report gives each c's median throughput
(requests/s) and its ratio to c = 1 measured in the same run (target: c = 8 at least 2x).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/concurrency.py [--rounds 5] [--n 64]``; JSON lands
in ``benchmarks/results/concurrency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nova_app import build_nova_graph
from nova_graph import load_roster
from nova_graph.models import OfflineChatModel
from nova_graph.testing import TableRouter
from tests.fault_injection import REQUESTS

ROOT = Path(__file__).resolve().parent.parent


async def _throughput(graph: Any, n: int, c: int, tag: str) -> tuple[float, float]:
    """Requests per second, and the process's CPU time per wall second (1.0 = one core busy)."""
    texts, gate = list(REQUESTS), asyncio.Semaphore(c)

    async def one(i: int) -> None:
        async with gate:
            cfg = {"configurable": {"thread_id": f"{tag}-{i}"}}
            state = await graph.ainvoke({"messages": [("user", texts[i % len(texts)])]}, cfg)
            assert state["results"], "every request must reach an agent"

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - started
    return n / wall, (time.process_time() - cpu) / wall


async def _main(rounds: int, n: int, levels: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        graph = build_nova_graph(
            roster=load_roster(ROOT / "tests" / "data" / "roster_small.yaml"),
            router=TableRouter(REQUESTS),
            model=OfflineChatModel(),
            data_dir=data,
        )
        await _throughput(graph, 8, 1, "warm")
        got: dict[int, list[tuple[float, float]]] = {c: [] for c in levels}
        for r in range(rounds):
            for c in levels if r % 2 == 0 else list(reversed(levels)):
                got[c].append(await _throughput(graph, n, c, f"r{r}c{c}"))
    med = {c: statistics.median(r for r, _ in v) for c, v in got.items()}
    busy = {str(c): statistics.median(b for _, b in v) for c, v in got.items()}
    return {
        "rounds": rounds,
        "requests_per_level": n,
        "median_requests_per_s": {str(c): med[c] for c in levels},
        "ratio_to_c1": {str(c): med[c] / med[levels[0]] for c in levels},
        "median_cores_busy": busy,
    }


def main() -> int:
    """Measure each concurrency level, interleaved, and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 64])
    args = parser.parse_args()
    report = asyncio.run(_main(args.rounds, args.n, args.levels))
    path = ROOT / "benchmarks" / "results" / "concurrency.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
