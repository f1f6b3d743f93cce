"""Throughput with the SQLite checkpointer: N requests at concurrency c, against c = 1, one run.

The full Nova graph (default SQLite checkpointer in a temporary data dir, table router over
tests/data/roster_small.yaml) answers the same request set through ``ainvoke`` on one event loop,
each request on its own thread id, with at most c running at once, in two cases:

- **instant**: the embedded offline model, which answers at once, so every request is pure CPU
  work under one interpreter lock (concurrency cannot add much here);
- **served**: a ``ChatOpenAI`` client talking HTTP to a real local OpenAI-compatible server on
  127.0.0.1 (``tests/support/openai_server.py``) that answers each call after ``--delay-ms``
  (default 100 ms), as a hosted model keeps a request waiting. Each agent calls one of its
  argument-free tools when it has one, then answers (one or two model calls per agent).

Rounds are interleaved (every c of every case in every round, the order reversed every other
round) and the report gives each case's median throughput per c (requests/s), its ratio to
c = 1 measured in the same run (target: c = 8 at least 2x) and the process's CPU time per wall
second (1.0 = one core busy).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/concurrency.py [--rounds 3] [--n 48]``; JSON lands
in ``benchmarks/results/concurrency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from nova_app import build_nova_graph
from nova_graph import load_roster
from nova_graph.models import OfflineChatModel
from nova_graph.testing import TableRouter
from tests.fault_injection import REQUESTS
from tests.support.openai_server import LocalOpenAIServer, tool_call

ROOT = Path(__file__).resolve().parent.parent


async def _throughput(graph: Any, n: int, c: int, tag: str) -> tuple[float, float]:
    """Requests per second, and the process's CPU time per wall second (1.0 = one core busy)."""
    texts, gate = list(REQUESTS), asyncio.Semaphore(c)

    async def one(i: int) -> None:
        async with gate:
            cfg = {"configurable": {"thread_id": f"{tag}-{i}"}}
            state = await graph.ainvoke({"messages": [("user", texts[i % len(texts)])]}, cfg)
            assert state["results"], "every request must reach an agent"
            failed = [r for r in state["results"].values() if r["status"] != "ok"]
            assert not failed, f"a request failed: {failed}"

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - started
    return n / wall, (time.process_time() - cpu) / wall


def delayed_reply(delay_s: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The local server's answer after ``delay_s``: one argument-free tool call, then text."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        time.sleep(delay_s)
        messages = body.get("messages") or []
        if any(m.get("role") == "tool" for m in messages):
            return {"content": "done"}
        for tool in body.get("tools") or []:
            fn = tool.get("function", {})
            if not fn.get("parameters", {}).get("required"):
                return {"tool_calls": [tool_call(fn["name"], {})]}
        return {"content": "done"}

    return reply


def _graph(model: BaseChatModel, data: str) -> Any:
    return build_nova_graph(
        roster=load_roster(ROOT / "tests" / "data" / "roster_small.yaml"),
        router=TableRouter(REQUESTS),
        model=model,
        data_dir=data,
    )


async def _main(rounds: int, n: int, levels: list[int], delay_ms: float) -> dict[str, Any]:
    reply = delayed_reply(delay_ms / 1000)
    budget = 4 * n * len(levels) * (rounds + 1) + 64
    with (
        tempfile.TemporaryDirectory() as d1,
        tempfile.TemporaryDirectory() as d2,
        LocalOpenAIServer(reply, max_requests=budget) as server,
    ):
        served = ChatOpenAI(
            model="local-test-model",
            api_key=SecretStr("sk-test-not-a-real-key"),
            base_url=server.base_url,
            max_retries=0,
        )
        graphs = {"instant": _graph(OfflineChatModel(), d1), "served": _graph(served, d2)}
        for case, graph in graphs.items():
            await _throughput(graph, 8, 1, f"warm-{case}")
        got: dict[str, dict[int, list[tuple[float, float]]]] = {
            case: {c: [] for c in levels} for case in graphs
        }
        for r in range(rounds):
            for case, graph in graphs.items():
                for c in levels if r % 2 == 0 else list(reversed(levels)):
                    got[case][c].append(await _throughput(graph, n, c, f"r{r}{case}{c}"))
    report: dict[str, Any] = {"rounds": rounds, "requests_per_level": n, "delay_ms": delay_ms}
    for case, per_c in got.items():
        med = {c: statistics.median(rps for rps, _ in v) for c, v in per_c.items()}
        report[case] = {
            "median_requests_per_s": {str(c): med[c] for c in levels},
            "ratio_to_c1": {str(c): med[c] / med[levels[0]] for c in levels},
            "median_cores_busy": {
                str(c): statistics.median(b for _, b in v) for c, v in per_c.items()
            },
        }
    return report


def main() -> int:
    """Measure each case and concurrency level, interleaved, and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--delay-ms", type=float, default=100.0)
    args = parser.parse_args()
    report = asyncio.run(_main(args.rounds, args.n, args.levels, args.delay_ms))
    path = ROOT / "benchmarks" / "results" / "concurrency.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
