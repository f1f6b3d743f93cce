"""One writer per conversation thread: a turn waits for the thread's running turn, then runs.

Two turns on one ``thread_id`` that run at once both start from the same checkpoint and the
later save wins, silently dropping the other turn. :class:`ThreadLocks` serialises them: inside
one process with a lock per thread id, and across the processes sharing a SQLite checkpoint file
with a POSIX byte-range lock on a side file (``<checkpoint>.threads.lock``; one byte per thread,
chosen by hash). A turn that cannot start within ``wait_seconds`` raises
:class:`~nova_graph.errors.ThreadBusyError`; no turn is ever lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from nova_graph.errors import ThreadBusyError

try:  # POSIX only; elsewhere the lock covers one process
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_POLL_FIRST, _POLL_MAX = 0.002, 0.05
_registry_lock = threading.Lock()
_local: dict[tuple[str, str], list[Any]] = {}  # (scope, thread id) -> [Lock, users]
_files: dict[str, int] = {}  # lock file -> descriptor, open for the process's life


def checkpoint_lock_file(checkpointer: Any) -> Path | None:
    """The side lock file of a SQLite checkpointer's database (``None`` for other savers)."""
    conn = getattr(checkpointer, "conn", None)
    if not isinstance(conn, sqlite3.Connection):
        return None
    lock = getattr(checkpointer, "lock", None)
    with lock if lock is not None else _registry_lock:
        rows = conn.execute("PRAGMA database_list").fetchall()
    main = next((r[2] for r in rows if r[1] == "main"), "")
    return Path(main + ".threads.lock") if main else None


class ThreadLocks:
    """Per-``thread_id`` writer locks for one checkpoint store (see the module docstring)."""

    def __init__(
        self, *, lock_file: Path | None = None, scope: str | None = None, wait_seconds: float = 60.0
    ) -> None:
        self.lock_file = lock_file
        self.wait_seconds = wait_seconds
        self.scope = str(lock_file) if lock_file is not None else (scope or f"locks:{id(self):x}")

    @classmethod
    def for_checkpointer(cls, checkpointer: Any, *, wait_seconds: float) -> ThreadLocks:
        """Locks shared by every graph on ``checkpointer`` (and, for SQLite, every process)."""
        return cls(
            lock_file=checkpoint_lock_file(checkpointer),
            scope=f"saver:{id(checkpointer):x}",
            wait_seconds=wait_seconds,
        )

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[None]:
        """Hold ``thread_id``'s writer lock (waiting for it; sync)."""
        deadline, pause = time.monotonic() + self.wait_seconds, _POLL_FIRST
        while not self._try_acquire(thread_id):
            self._check_deadline(thread_id, deadline)
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)
        try:
            yield
        finally:
            self._release(thread_id)

    @asynccontextmanager
    async def ahold(self, thread_id: str) -> AsyncIterator[None]:
        """Hold ``thread_id``'s writer lock (waiting for it without blocking the event loop)."""
        deadline, pause = time.monotonic() + self.wait_seconds, _POLL_FIRST
        while not self._try_acquire(thread_id):
            self._check_deadline(thread_id, deadline)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)
        try:
            yield
        finally:
            self._release(thread_id)

    def _check_deadline(self, thread_id: str, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise ThreadBusyError(
                f"thread {thread_id!r} is busy: another turn on it is still running after "
                f"{self.wait_seconds:g} s; wait for it to finish and send again, or use another "
                "thread_id"
            )

    def _try_acquire(self, thread_id: str) -> bool:
        key = (self.scope, thread_id)
        with _registry_lock:
            entry = _local.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        if entry[0].acquire(blocking=False):
            if self._lock_file(thread_id, fcntl.LOCK_EX | fcntl.LOCK_NB if fcntl else 0):
                return True
            entry[0].release()
        self._drop(key)
        return False

    def _release(self, thread_id: str) -> None:
        key = (self.scope, thread_id)
        if fcntl is not None:
            self._lock_file(thread_id, fcntl.LOCK_UN)
        _local[key][0].release()
        self._drop(key)

    @staticmethod
    def _drop(key: tuple[str, str]) -> None:
        with _registry_lock:
            entry = _local[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _local[key]

    def _lock_file(self, thread_id: str, op: int) -> bool:
        """Apply ``op`` to this thread's byte of the lock file; False when another holds it."""
        if self.lock_file is None or fcntl is None:
            return True
        fd = _descriptor(self.lock_file)
        offset = int.from_bytes(hashlib.sha256(thread_id.encode()).digest()[:5], "big")
        try:
            fcntl.lockf(fd, op, 1, offset, os.SEEK_SET)
        except (BlockingIOError, PermissionError):
            return False
        return True


def _descriptor(path: Path) -> int:
    # POSIX locks belong to the process and vanish when any descriptor of the file is closed,
    # so each lock file is opened once and kept open.
    with _registry_lock:
        fd = _files.get(str(path))
        if fd is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.chmod(path, 0o600)
            _files[str(path)] = fd
        return fd


def thread_id_of(config: Any) -> str | None:
    """The ``configurable.thread_id`` of a run config, if it has one."""
    if not isinstance(config, dict):
        return None
    value = (config.get("configurable") or {}).get("thread_id")
    return None if value is None else str(value)


def locked_stream(
    locks: ThreadLocks, thread_id: str, make: Callable[[], Iterator[Any]]
) -> Iterator[Any]:
    """Yield from ``make()`` while holding ``thread_id``'s writer lock."""
    with locks.hold(thread_id):
        yield from make()


async def alocked_stream(
    locks: ThreadLocks, thread_id: str, make: Callable[[], AsyncIterator[Any]]
) -> AsyncIterator[Any]:
    """Async :func:`locked_stream`."""
    async with locks.ahold(thread_id):
        async for chunk in make():
            yield chunk
