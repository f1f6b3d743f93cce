"""Which stored version of a keyed memory is current when several claim to be.

Supersession writes the new version first and retires the old ones after, so a process killed
in between (or a store shared by writers the lock cannot reach, such as a Chroma server) can
leave two un-retired versions of one key. Readers resolve them with one rule, the one a write
applies: the version written last wins, and each older version stops being true when the next
one written after it becomes valid. The next write to the key retires them all for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def resolve_versions(rows: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """``{id: metadata}`` for the live versions of one key, older ones marked superseded.

    ``rows`` are ``(id, metadata)`` pairs of one key as stored (metadata from
    :func:`~nova_graph.memory.model.record_metadata`). Versions are ordered by the write
    sequence ``seq`` the store gives each version of a key under its lock, then ``created_at``,
    then id; an older version gets ``superseded_at`` = the later of its own ``valid_from`` and
    the earliest ``valid_from`` among the versions written after it, unless already earlier.
    """
    order = sorted(rows, key=lambda r: (int(r[1].get("seq", 0)), float(r[1]["created_at"]), r[0]))
    out: dict[str, dict[str, Any]] = {}
    for i, (id_, meta) in enumerate(order):
        marked = dict(meta)
        newer = order[i + 1 :]
        if newer:
            next_id, next_meta = min(newer, key=lambda r: float(r[1]["valid_from"]))
            at = max(float(marked["valid_from"]), float(next_meta["valid_from"]))
            if at < float(marked["superseded_at"]):
                marked["superseded_at"] = at
                marked["superseded_by"] = next_id
                marked["stale_reason"] = f"same key {marked.get('key')!r}"
        out[id_] = marked
    return out
