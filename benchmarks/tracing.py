"""Per-request overhead of observability: a build without tracing/metering code, tracing off,
and tracing on with an in-process (in-memory) exporter, measured in one run, interleaved.

    .venv/bin/python benchmarks/tracing.py --requests 150

Each request goes through the whole graph (router table, two agents in parallel, each one tool
call and two model calls of a scripted model that reports usage, no checkpointer). The
"without tracing code" build is the same graph built with the hooks left out: no model-call
meter, no tool wrapper, no supervisor span wrapper (the agent node's span/meter context
managers stay, as no-ops). Targets: off <= 1.02x, on <= 1.15x
of that build (ratios of median per-request latency). Writes benchmarks/results/tracing.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

import nova_graph.graph as graph_mod  # noqa: E402
from nova_app import build_nova_graph  # noqa: E402
from nova_graph import metering, tracing  # noqa: E402
from nova_graph.roster import load_roster  # noqa: E402
from nova_graph.testing import FunctionChatModel, TableRouter  # noqa: E402
from tests.test_observability import BOTH, TABLE, Script  # noqa: E402


@contextlib.contextmanager
def _without_tracing_code() -> Any:
    """Build-time: leave every observability hook out of the graph."""
    saved = (metering.metered, metering.wrap_tool_call, graph_mod.traced_supervisor)
    metering.metered = lambda model: model  # type: ignore[assignment]
    metering.wrap_tool_call = None  # type: ignore[assignment]
    graph_mod.traced_supervisor = lambda node: node  # type: ignore[assignment]
    try:
        yield
    finally:
        metering.metered, metering.wrap_tool_call, graph_mod.traced_supervisor = saved


def _graph(data_dir: Path) -> Any:
    return build_nova_graph(
        roster=load_roster(ROOT / "tests" / "data" / "roster_small.yaml"),
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=Script(), report_usage=True, model_name="scripted-1"),
        data_dir=data_dir,
        checkpointer=False,
    )


def _one(graph: Any) -> float:
    started = time.perf_counter()
    with tracing.request_span(None):
        graph.invoke({"messages": [{"role": "user", "content": BOTH}]})
    return (time.perf_counter() - started) * 1000


def main() -> int:
    """Measure and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tracing.json"))
    args = parser.parse_args()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tempfile.TemporaryDirectory(prefix="nova-tracing-") as tmp:
        with _without_tracing_code():
            bare = _graph(Path(tmp))
        hooked = _graph(Path(tmp))

        def on(g: Any) -> float:
            tracing.enable_tracing(provider)
            try:
                return _one(g)
            finally:
                tracing.disable_tracing()

        runs: dict[str, tuple[Callable[[Any], float], Any]] = {
            "without_tracing_code": (_one, bare),
            "tracing_off": (_one, hooked),
            "tracing_on_in_memory": (on, hooked),
        }
        for fn, g in runs.values():  # warm up
            for _ in range(5):
                fn(g)
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.requests):  # interleaved, so drift hits all three alike
            for name, (fn, g) in runs.items():
                times[name].append(fn(g))
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["without_tracing_code"]
    out: dict[str, Any] = {
        "command": f"benchmarks/tracing.py --requests {args.requests}",
        "median_ms": {k: round(v, 3) for k, v in med.items()},
        "ratio_off": round(med["tracing_off"] / base, 4),
        "ratio_on": round(med["tracing_on_in_memory"] / base, 4),
        "target_off": 1.02,
        "target_on": 1.15,
        "spans_exported": len(exporter.get_finished_spans()),
    }
    out["passed"] = out["ratio_off"] <= 1.02 and out["ratio_on"] <= 1.15
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
