"""Memory staleness eval (scripted timeline) and recall latency benchmark vs plain Chroma."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evals.harness.memory_bench import bench_size
from evals.harness.memory_timeline import load_timeline, run_timeline

DEFAULT_TIMELINE = Path("evals/memory/timeline.yaml")
DEFAULT_OUT = Path("evals/results/memory.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``nova eval memory``."""
    parser.add_argument("--timeline", type=Path, default=DEFAULT_TIMELINE)
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated store sizes for the latency benchmark ('' to skip it)",
    )
    parser.add_argument("--queries", type=int, default=200, help="timed queries per size")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")


def run(args: argparse.Namespace) -> int:
    """Run the timeline and the benchmark, print tables, write JSON; 1 if a target is missed."""
    timeline = run_timeline(load_timeline(args.timeline))
    print(f"staleness timeline ({args.timeline}): {timeline['questions']} questions")
    print(f"  stale hits            {timeline['stale_hits']}  (target 0)")
    print(f"  current-fact recall@5 {timeline['recall_at_5']:.1%}  (target >= 95%)")
    for d in timeline["details"]:
        if d["stale_hits"] or d["hit"] is False:
            print(f"  MISS {d['at']}: {d['question']} -> {d['returned']} (want {d['expect']})")
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    bench: list[dict[str, Any]] = []
    if sizes:
        print("\nrecall latency, synthetic 384-d vectors (ms; plain = Chroma query, no filter)")
        print(
            "| size | recall p50 | recall p95 | plain p50 | plain p95 | ratio p50 | "
            "where-filter p50 | stale hits | load s |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        r = bench_size(size, queries=args.queries)
        bench.append(r)
        print(
            f"| {size} | {r['recall_p50_ms']} | {r['recall_p95_ms']} | {r['plain_p50_ms']} | "
            f"{r['plain_p95_ms']} | {r['ratio_p50']} | {r['chroma_where_p50_ms']} | "
            f"{r['stale_hits']} | {r['load_seconds']} |",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"timeline": timeline, "benchmark": bench}, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    ok = timeline["stale_hits"] == 0 and timeline["recall_at_5"] >= 0.95
    big = [r for r in bench if r["size"] >= 100_000]
    ok = ok and all(r["recall_p50_ms"] <= 25 and r["ratio_p50"] <= 1.5 for r in big)
    return 0 if ok else 1
