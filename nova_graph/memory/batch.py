"""Planning a batch of memory writes: which rows each new memory supersedes, as if written in order.

:meth:`ChromaMemory.remember_many` gives this module the batch (texts, vectors, metadata) and the
store's rows it may touch (every live version of the batch's keys, and each new memory's nearest
live neighbours, fetched with one query for the whole batch); :func:`plan_batch` returns the same
supersessions that calling ``remember`` once per item would make, so the store can write them with
one add, one history upsert and one delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from nova_graph.memory.detector import Candidate, UpdateDetector
from nova_graph.memory.staleness import compile_where, current_where
from nova_graph.memory.versions import resolve_versions


@dataclass(frozen=True)
class NewMemory:
    """One memory for :meth:`ChromaMemory.remember_many` (the arguments of ``remember``)."""

    text: str
    key: str | None = None
    ttl: timedelta | float | None = None
    valid_from: datetime | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass
class Row:
    """A stored (or about to be stored) memory: id, text, metadata, unit-free embedding
    (``None`` for a stored neighbour read without it; the store fetches it if the row moves)."""

    id: str
    text: str
    meta: dict[str, Any]
    vector: np.ndarray | None


@dataclass
class Plan:
    """What to write: new rows still current go live, the rest (new or old) go to history."""

    live: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # existing live ids to delete
    top_superseded_at: float = 0.0


def plan_batch(
    new: list[Row],
    keyed: dict[str, list[Row]],
    neighbours: list[list[tuple[Row, float]]],
    *,
    detector: UpdateDetector | None,
    candidates: int,
    now: datetime,
) -> Plan:
    """Supersessions of ``new`` (in order) over the store's ``keyed`` live versions (per key) and
    each new row's ``neighbours`` (existing live rows with their cosine similarity)."""
    is_current = compile_where(current_where(now))
    current: dict[str, Row] = {}  # every row live at this point of the sequence
    marks: dict[str, dict[str, Any]] = {}  # id -> metadata with supersession marks
    latest: dict[str, list[str]] = {}  # key -> live ids of that key
    for name, rows in keyed.items():
        resolved = resolve_versions([(r.id, r.meta) for r in rows])
        for r in rows:
            current[r.id] = Row(r.id, r.text, resolved[r.id], r.vector)
        latest[name] = [r.id for r in rows]
    for near in neighbours:
        for r, _ in near:
            if r.id not in current:
                current[r.id] = r
    seq: dict[str, int] = {
        k: max((int(current[i].meta.get("seq", 0)) for i in ids), default=0)
        for k, ids in latest.items()
    }
    sims = _cosines(stack_vectors(new)) if detector is not None else None
    for i, row in enumerate(new):
        key: str | None = str(row.meta["key"]) if row.meta.get("key") else None
        replaced: dict[str, str] = {}
        if key is not None:
            for id_ in latest.get(key, []):
                replaced[id_] = f"same key {key!r}"
            seq[key] = seq.get(key, 0) + 1
            row.meta["seq"] = seq[key]
        if detector is not None and sims is not None:
            pool = [(r, s) for r, s in neighbours[i] if r.id in current]
            pool += _closest_earlier(new, i, sims[i], current, candidates)
            pool.sort(key=lambda rs: -rs[1])
            cands, found = [], {}
            for r, sim in pool[:candidates]:
                other = str(r.meta.get("key", ""))
                if r.id in replaced or not is_current(r.meta) or (other and other != key):
                    continue
                found[r.id] = r
                cands.append(Candidate(r.id, r.text, sim))
            for rep in detector.replaced(row.text, cands):
                if rep.id in found:
                    replaced[rep.id] = rep.reason
        for id_, reason in replaced.items():
            old = dict(current[id_].meta)
            if not old.get("superseded_by"):  # a dead writer's leftover keeps its marks
                old["superseded_at"] = max(float(row.meta["valid_from"]), float(old["valid_from"]))
                old["superseded_by"] = row.id
                old["stale_reason"] = reason
            marks[id_] = old
            del current[id_]
            for ids in latest.values():
                if id_ in ids:
                    ids.remove(id_)
        current[row.id] = row
        if key is not None:
            latest[key] = [row.id]
    plan = Plan()
    by_id = {r.id: r for r in new}
    for row in new:
        if row.id in current:
            plan.live.append(row)
    for id_, meta in marks.items():
        source = by_id.get(id_)
        if source is None:
            source = _find(id_, keyed, neighbours)
            plan.retired.append(id_)
        plan.history.append(Row(id_, source.text, meta, source.vector))
        plan.top_superseded_at = max(plan.top_superseded_at, float(meta["superseded_at"]))
    return plan


def _closest_earlier(
    new: list[Row], i: int, sims: np.ndarray, current: dict[str, Row], n: int
) -> list[tuple[Row, float]]:
    """The ``n`` items before ``i`` in the batch most similar to item ``i`` that are still live."""
    out: list[tuple[Row, float]] = []
    for j in np.argsort(-sims[:i], kind="stable"):
        if new[j].id in current:
            out.append((new[j], float(sims[j])))
            if len(out) == n:
                break
    return out


def stack_vectors(rows: list[Row]) -> np.ndarray:
    """The rows' vectors as one float32 matrix (every row must have its vector by now)."""
    out = []
    for r in rows:
        if r.vector is None:
            raise ValueError(f"memory {r.id} has no vector")
        out.append(r.vector)
    return np.stack(out).astype(np.float32)


def _cosines(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of the batch's vectors."""
    unit = vectors.copy()
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def _find(id_: str, keyed: dict[str, list[Row]], neighbours: list[list[tuple[Row, float]]]) -> Row:
    for rows in keyed.values():
        for r in rows:
            if r.id == id_:
                return r
    for near in neighbours:
        for r, _ in near:
            if r.id == id_:
                return r
    raise KeyError(id_)
