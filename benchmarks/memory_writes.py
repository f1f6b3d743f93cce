"""Memory write and recall benchmark (not a timed test): ``remember`` vs ``remember_many``.

    .venv/bin/python benchmarks/memory_writes.py --n 300 --batch 100 --recall-size 100000

Writes: ``--n`` distinct memories (one in ten re-states an earlier key, so supersession runs;
the offline similarity detector is on, as by default) into a fresh persistent store, once with
``remember`` one at a time and once with ``remember_many`` in batches of ``--batch``; memories/s
for each, with the default MiniLM encoder (what an app pays) and with the hashing test encoder
(the store alone). Keyed recall: ``--keyed-size`` memories written with keys, recall vs a plain
Chroma query (p50 ratio). Recall: :func:`evals.harness.memory_bench.bench_size` at
``--recall-size`` memories, ChromaMemory's staleness-checked recall vs a plain Chroma query on the
same collection (p50 ratio). Writes benchmarks/results/memory_writes.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.harness.memory_bench import bench_size  # noqa: E402
from nova_graph.embeddings import default_encoder  # noqa: E402
from nova_graph.memory import ChromaMemory  # noqa: E402
from nova_graph.memory.batch import NewMemory  # noqa: E402
from nova_graph.testing import HashingEncoder  # noqa: E402

NOW = datetime(2025, 6, 1, tzinfo=UTC)
NS = "bench"
_SUBJECTS = ("the gate code", "my desk", "the standup", "the wifi password", "the parking spot")


def items(n: int, offset: int = 0) -> list[NewMemory]:
    """``n`` distinct memories; every tenth re-states the key of one five before it."""
    out = []
    for i in range(offset, offset + n):
        subject = _SUBJECTS[i % len(_SUBJECTS)]
        key = f"fact-{i - 5}" if i % 10 == 9 else f"fact-{i}"
        out.append(NewMemory(f"{subject} number {i} is now {i * 7 % 1000} (note {i})", key=key))
    return out


def rate(encoder: Any, n: int, batch: int) -> dict[str, float]:
    """memories/s of ``remember`` and of ``remember_many`` on fresh stores."""
    out = {}
    encoder.encode(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        mem = ChromaMemory(str(Path(tmp) / "one"), encoder=encoder)
        mem.remember("warm up", namespace=NS, now=NOW)
        start = time.perf_counter()
        for it in items(n):
            mem.remember(it.text, namespace=NS, key=it.key, now=NOW)
        out["remember_per_s"] = n / (time.perf_counter() - start)
        many = ChromaMemory(str(Path(tmp) / "many"), encoder=encoder)
        many.remember("warm up", namespace=NS, now=NOW)
        todo = items(n, offset=10_000)  # other texts: the encoder's cache does not help
        start = time.perf_counter()
        for i in range(0, n, batch):
            many.remember_many(todo[i : i + batch], namespace=NS, now=NOW)
        out["remember_many_per_s"] = n / (time.perf_counter() - start)
    out["speedup"] = out["remember_many_per_s"] / out["remember_per_s"]
    return {k: round(v, 1) for k, v in out.items()}


def keyed_recall(size: int, queries: int = 400) -> dict[str, float]:
    """p50 ms of ``recall_by_vector`` over ``size`` keyed memories vs a plain Chroma query (the
    store checks each returned key for a second live version), hashing encoder, in turn first."""
    encoder = HashingEncoder(384)
    with tempfile.TemporaryDirectory() as tmp:
        mem = ChromaMemory(tmp, encoder=encoder, update_detector=None)
        for i in range(0, size, 500):
            mem.remember_many(items(min(500, size - i), offset=i), namespace=NS, now=NOW)
        live, _ = mem.collections(NS)
        vectors = encoder.encode([f"{_SUBJECTS[i % 5]} number {i}" for i in range(queries)])
        ours, plain = [], []
        for i, vec in enumerate(np.asarray(vectors, dtype=np.float32)):
            times = {}
            for way in ("ours", "plain") if i % 2 else ("plain", "ours"):
                start = time.perf_counter()
                if way == "ours":
                    mem.recall_by_vector(vec, namespace=NS, k=5, now=NOW)
                else:
                    live.query(
                        query_embeddings=vec.reshape(1, -1),
                        n_results=5,
                        include=["metadatas", "documents", "distances"],
                    )
                times[way] = (time.perf_counter() - start) * 1000
            ours.append(times["ours"])
            plain.append(times["plain"])
    p50, plain_p50 = statistics.median(ours[10:]), statistics.median(plain[10:])
    return {
        "size": size,
        "recall_p50_ms": round(p50, 2),
        "plain_p50_ms": round(plain_p50, 2),
        "ratio_p50": round(p50 / plain_p50, 2),
    }


def main() -> None:
    """Run the write and recall measurements and save them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="memories written each way")
    parser.add_argument("--batch", type=int, default=100, help="items per remember_many call")
    parser.add_argument("--recall-size", type=int, default=100_000)
    parser.add_argument("--keyed-size", type=int, default=2000, help="keyed memories for recall")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/memory_writes.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"command": " ".join(sys.argv), "n": args.n, "batch": args.batch}
    results["minilm"] = rate(default_encoder(), args.n, args.batch)
    print(json.dumps(results, indent=1), flush=True)
    results["hashing_encoder"] = rate(HashingEncoder(384), args.n, args.batch)
    print(json.dumps(results, indent=1), flush=True)
    results["keyed_recall"] = keyed_recall(args.keyed_size)
    print(json.dumps(results, indent=1), flush=True)
    if args.recall_size:
        results["recall"] = bench_size(args.recall_size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
