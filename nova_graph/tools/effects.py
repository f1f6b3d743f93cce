"""The side-effect ledger: one row per tool call that changes something, keyed by an idempotency
key, so a retry, a timeout-retry or a resume returns the recorded outcome instead of acting twice.

A call's key hashes the run's ``thread_id``, the graph task that made the call (the first segment
of ``checkpoint_ns``: stable across retries and resumes of that task), the tool name and its
arguments. The ledger is a small SQLite file (mode 0o600) in the data directory. A row is
``running`` (claimed, the effect may be under way), ``applied`` (with the tool's result) or
``rejected`` (the human said no; it never applies).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.runnables.config import ensure_config

from nova_graph.tools.private_db import open_private_db

EFFECTS_DB = "effects.sqlite"
EffectStatus = Literal["running", "applied", "rejected"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY, tool TEXT NOT NULL, status TEXT NOT NULL, result TEXT,
    owner TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT);
"""
# Identifies this process in claims: a pid alone can be reused after a crash.
_PROCESS = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"


class EffectAlreadyApplied(Exception):
    """Raised inside a tool whose transaction finds its call already applied; nothing changed."""


@dataclass(frozen=True)
class Effect:
    """One ledger row: the outcome of one tool call (or its claim while it runs)."""

    key: str
    tool: str
    status: EffectStatus
    result: str | None
    owner: str
    started_at: str

    def owner_alive(self) -> bool:
        """True when the process that claimed this call still runs (this one, or another)."""
        if self.owner == _PROCESS:
            return True
        pid = int(self.owner.split(":", 1)[0])
        if pid == os.getpid():
            return False  # our pid, another token: a dead earlier process that had our pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def call_key(tool: str, args: Mapping[str, Any]) -> str | None:
    """The idempotency key of calling ``tool`` with ``args`` in the current graph task.

    ``None`` outside a graph run with a ``thread_id`` (nothing to be idempotent across).
    """
    configurable = ensure_config().get("configurable") or {}
    thread = configurable.get("thread_id")
    if thread is None:
        return None
    task = str(configurable.get("checkpoint_ns") or "").split("|", 1)[0]
    payload = json.dumps([str(thread), task, tool, dict(args)], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class EffectLedger:
    """The ledger of side-effecting tool calls in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open_private_db(self.path, _SCHEMA) as conn:
            yield conn

    def get(self, key: str) -> Effect | None:
        """The recorded outcome (or running claim) of ``key``, if any."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT key, tool, status, result, owner, started_at FROM effects WHERE key=?",
                (key,),
            ).fetchone()
        return Effect(*row) if row is not None else None

    def claim(self, key: str, tool: str) -> Effect | None:
        """Claim ``key`` for this process before acting: ``None`` when claimed, else the row that
        already holds it (the caller must not act)."""
        try:
            with self._db() as conn, conn:
                conn.execute(
                    "INSERT INTO effects(key, tool, status, owner, started_at) "
                    "VALUES (?,?,'running',?,?)",
                    (key, tool, _PROCESS, _now()),
                )
        except sqlite3.IntegrityError:
            return self.get(key)
        return None

    def take_over(self, stale: Effect) -> bool:
        """Move a dead process's claim to this process; False when someone else moved it."""
        with self._db() as conn, conn:
            cur = conn.execute(
                "UPDATE effects SET owner=?, started_at=? WHERE key=? AND status='running' "
                "AND owner=?",
                (_PROCESS, _now(), stale.key, stale.owner),
            )
        return cur.rowcount == 1

    def finish(self, key: str, result: str) -> None:
        """Record that ``key`` was applied, with the tool's result."""
        with self._db() as conn, conn:
            conn.execute(
                "UPDATE effects SET status='applied', result=?, finished_at=? WHERE key=?",
                (result, _now(), key),
            )

    def reject(self, key: str, tool: str) -> None:
        """Record that the human rejected ``key``: it will never be applied."""
        with self._db() as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO effects(key, tool, status, owner, started_at, finished_at) "
                "VALUES (?,?,'rejected',?,?,?)",
                (key, tool, _PROCESS, _now(), _now()),
            )

    def release(self, key: str) -> None:
        """Drop this process's running claim on ``key`` (the call failed before its effect)."""
        with self._db() as conn, conn:
            conn.execute(
                "DELETE FROM effects WHERE key=? AND status='running' AND owner=?",
                (key, _PROCESS),
            )

    def wait(self, key: str, seconds: float) -> Effect | None:
        """Poll until ``key`` is no longer running (or ``seconds`` pass); the last row seen."""
        deadline = time.monotonic() + seconds
        effect = self.get(key)
        while effect is not None and effect.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
            effect = self.get(key)
        return effect

    def counts(self) -> dict[str, int]:
        """How many calls each tool has applied (for audits and tests)."""
        if not self.path.exists():
            return {}
        with self._db() as conn:
            rows = conn.execute(
                "SELECT tool, COUNT(*) FROM effects WHERE status='applied' GROUP BY tool"
            ).fetchall()
        return {tool: n for tool, n in rows}
