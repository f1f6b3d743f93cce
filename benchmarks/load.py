"""Load benchmark (not a timed test): N concurrent requests via ``ainvoke`` on the offline model.

    .venv/bin/python benchmarks/load.py --n 50 200 1000

For each N: N requests (half single-agent, half two-agent fan-out) start at once on one event loop
through the full Nova graph (default SQLite checkpointer in a temporary data dir, table router over
tests/data/roster_small.yaml). Reported: completion count, wall time, p50/p95 latency, peak traced
Python memory (tracemalloc) and process max RSS. The peer, measured in the same run on the same
requests, is a bare LangGraph ``StateGraph`` with one node calling the same offline model
(in-memory checkpointer). Writes benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AnyMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, StateGraph, add_messages  # noqa: E402

from nova_app import build_nova_graph  # noqa: E402
from nova_graph import load_roster  # noqa: E402
from nova_graph.models import OfflineChatModel  # noqa: E402
from nova_graph.testing import TableRouter  # noqa: E402
from tests.fault_injection import REQUESTS  # noqa: E402

Ask = Callable[[str, str], Awaitable[dict[str, Any]]]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(ask: Ask, n: int, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    texts = list(REQUESTS)
    latencies: list[float] = []
    errors: list[str] = []
    completed = 0

    async def one(i: int) -> None:
        nonlocal completed
        started = time.perf_counter()
        try:
            state = await ask(texts[i % len(texts)], f"t{i}")
        except Exception as exc:  # reported, not hidden
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        latencies.append((time.perf_counter() - started) * 1000)
        completed += check(state)

    tracemalloc.start()
    tracemalloc.reset_peak()
    wall = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - wall
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n": n,
        "completed": completed,
        "errors": errors[:5],
        "error_count": len(errors),
        "wall_s": round(wall, 3),
        "throughput_rps": round(n / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_pct(latencies, 0.95), 1) if latencies else None,
        "peak_traced_mb": round(peak / 2**20, 1),
        "max_rss_mb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def nova_ask(data_dir: Path) -> tuple[Ask, Callable[[dict[str, Any]], bool]]:
    """The full Nova graph on the offline model."""
    graph = build_nova_graph(
        roster=load_roster(ROOT / "tests" / "data" / "roster_small.yaml"),
        router=TableRouter(REQUESTS),
        model=OfflineChatModel(),
        data_dir=data_dir,
    )

    async def ask(text: str, thread: str) -> dict[str, Any]:
        return await graph.ainvoke(  # type: ignore[no-any-return]
            {"messages": [{"role": "user", "content": text}]},
            {"configurable": {"thread_id": thread}},
        )

    def check(state: dict[str, Any]) -> bool:
        routes = state.get("routes") or []
        return bool(routes) and all(
            state["results"].get(a, {}).get("status") == "ok" for a in routes
        )

    return ask, check


class _PeerState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def peer_ask() -> tuple[Ask, Callable[[dict[str, Any]], bool]]:
    """A bare LangGraph graph: one node calling the same offline model, in-memory checkpoints."""
    model = OfflineChatModel()

    async def call_model(state: _PeerState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(_PeerState)
    builder.add_node("model", call_model)
    builder.add_edge(START, "model")
    builder.add_edge("model", END)
    graph = builder.compile(checkpointer=InMemorySaver())

    async def ask(text: str, thread: str) -> dict[str, Any]:
        return await graph.ainvoke(  # type: ignore[call-overload]
            {"messages": [{"role": "user", "content": text}]},
            {"configurable": {"thread_id": thread}},
        )

    return ask, lambda state: len(state["messages"]) == 2


def main() -> int:
    """Run every N for Nova and the peer; write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="nova-load-") as tmp:
        for n in args.n:
            ask, check = nova_ask(Path(tmp) / f"n{n}")
            nova = asyncio.run(_measure(ask, n, check))
            p_ask, p_check = peer_ask()
            peer = asyncio.run(_measure(p_ask, n, p_check))
            row = {
                "n": n,
                "nova": nova,
                "peer_bare_langgraph": peer,
                "ratio_p50": round(nova["p50_ms"] / peer["p50_ms"], 2) if peer["p50_ms"] else None,
                "ratio_wall": round(nova["wall_s"] / peer["wall_s"], 2),
                "ratio_peak_mem": round(
                    nova["peak_traced_mb"] / max(peer["peak_traced_mb"], 0.1), 2
                ),
                "all_completed": nova["completed"] == n,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    report = {"command": "benchmarks/load.py --n " + " ".join(map(str, args.n)), "rows": rows}
    Path(args.out).write_text(json.dumps(report, indent=2))
    return 0 if all(r["all_completed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
