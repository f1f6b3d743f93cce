"""Recall latency of ChromaMemory vs a plain Chroma query (no staleness check), same collection.

The store is filled with synthetic random unit vectors (dimension 384, MiniLM's width) inserted
directly with the store's metadata schema: encoding 100k texts with MiniLM takes minutes on two
cores and would measure the encoder, not the store. Query vectors are synthetic too, so the
timings cover the store only (no query encoding). The mix: 80% current, 10% superseded (in the
history collection), 5% expired, 5% not yet valid.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nova_graph.memory import ChromaMemory
from nova_graph.memory.model import record_metadata, to_epoch
from nova_graph.testing import HashingEncoder

DIM = 384
NOW = datetime(2025, 6, 1, tzinfo=UTC)
NS = "bench"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(memory: ChromaMemory, size: int, *, seed: int = 0) -> dict[str, set[str]]:
    """Insert ``size`` synthetic memories; return ids by state (current, superseded, ...)."""
    rng = np.random.default_rng(seed)
    live, hist = memory.collections(NS)
    now = to_epoch(NOW)
    states: dict[str, set[str]] = {
        "current": set(),
        "superseded": set(),
        "expired": set(),
        "future": set(),
    }
    batch = 5000
    for start in range(0, size, batch):
        n = min(batch, size - start)
        vecs = _unit(rng, n)
        rows: dict[str, list[Any]] = {"live": [], "hist": []}
        for j in range(n):
            i = start + j
            created = now - 86400.0 * 30 + i * (86400.0 * 29 / size)
            r = i % 20
            mid = f"b:{i}"
            if r < 2:  # superseded: lives in the history collection
                meta = record_metadata(
                    namespace=NS, key=f"k{i}", created_at=created, valid_from=created
                )
                meta.update(
                    superseded_at=created + 60.0, superseded_by=f"b:{i + 1}", stale_reason="bench"
                )
                rows["hist"].append((mid, vecs[j], meta))
                states["superseded"].add(mid)
                continue
            if r == 2:
                meta = record_metadata(
                    namespace=NS,
                    key=None,
                    created_at=created,
                    valid_from=created,
                    expires_at=created + 3600.0,
                )
                states["expired"].add(mid)
            elif r == 3:
                meta = record_metadata(
                    namespace=NS, key=None, created_at=created, valid_from=now + 86400.0
                )
                states["future"].add(mid)
            else:
                meta = record_metadata(
                    namespace=NS, key=None, created_at=created, valid_from=created
                )
                states["current"].add(mid)
            rows["live"].append((mid, vecs[j], meta))
        for col, chunk in ((live, rows["live"]), (hist, rows["hist"])):
            if chunk:
                col.add(
                    ids=[c[0] for c in chunk],
                    embeddings=np.stack([c[1] for c in chunk]),
                    metadatas=[c[2] for c in chunk],
                    documents=[f"synthetic memory {c[0]}" for c in chunk],
                )
    return states


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def bench_size(size: int, *, queries: int = 1000, k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Fill a fresh persistent store with ``size`` memories and time both query kinds."""
    with tempfile.TemporaryDirectory(prefix="nova-mem-bench-") as path:
        memory = ChromaMemory(path, encoder=HashingEncoder(DIM), update_detector=None)
        t0 = time.perf_counter()
        states = fill(memory, size, seed=seed)
        load_s = time.perf_counter() - t0
        live, _ = memory.collections(NS)
        qs = _unit(np.random.default_rng(seed + 1), queries + 10)
        ours, plain = [], []
        stale_hits, short = 0, 0
        for i, q in enumerate(qs):
            # Each query vector runs both ways, in turn first: whichever runs second finds the
            # index pages the first one read already in the CPU cache (about 3-8 % faster).
            if i % 2:
                t_plain = _plain(live, q, k)
            t = time.perf_counter()
            found = memory.recall_by_vector(q, namespace=NS, k=k, now=NOW)
            t_ours = (time.perf_counter() - t) * 1000
            if not i % 2:
                t_plain = _plain(live, q, k)
            if i >= 10:  # warm-up excluded
                ours.append(t_ours)
                plain.append(t_plain)
            stale_hits += sum(m.id not in states["current"] for m in found)
            short += len(found) < k
        fallbacks = memory.fallback_queries
        prefilter = []  # the same query with the where filter always handed to Chroma
        for q in qs[10:40]:
            t = time.perf_counter()
            memory._query(live, q.reshape(1, -1), k, _where())
            prefilter.append((time.perf_counter() - t) * 1000)
    return {
        "size": size,
        "queries": queries,
        "load_seconds": round(load_s, 1),
        "recall_p50_ms": round(statistics.median(ours), 2),
        "recall_p95_ms": round(_pct(ours, 95), 2),
        "plain_p50_ms": round(statistics.median(plain), 2),
        "plain_p95_ms": round(_pct(plain, 95), 2),
        "ratio_p50": round(statistics.median(ours) / statistics.median(plain), 2),
        "ratio_p95": round(_pct(ours, 95) / _pct(plain, 95), 2),
        "chroma_where_p50_ms": round(statistics.median(prefilter), 1),
        "fallback_queries": fallbacks,
        "stale_hits": stale_hits,
        "short_results": short,
    }


def _plain(live: Any, q: np.ndarray, k: int) -> float:
    """Milliseconds of the peer: a plain Chroma top-``k`` query of the live collection."""
    t = time.perf_counter()
    live.query(
        query_embeddings=q.reshape(1, -1),
        n_results=k,
        include=["metadatas", "documents", "distances"],
    )
    return (time.perf_counter() - t) * 1000


def _where() -> dict[str, Any]:
    from nova_graph.memory import current_where

    return current_where(NOW)
