"""Checkpointers: durable SQLite by default, so conversations and interrupted runs survive."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from nova_graph.errors import InvalidRequestError
from nova_graph.private import private_dir, private_file
from nova_graph.reliability.lanes import WorkerLane
from nova_graph.reliability.storage import storage_typed
from nova_graph.settings import default_data_dir

CHECKPOINT_FILE = "checkpoints.sqlite"
T = TypeVar("T")


class NovaSqliteSaver(SqliteSaver):
    """``SqliteSaver`` that also serves ``ainvoke``/``astream`` (one connection, one lock).

    On the async path every checkpoint read and write runs on the saver's own worker thread (as
    ``AsyncSqliteSaver`` runs aiosqlite's), never on the event loop, so concurrent requests keep
    running while one is saved; sync ``invoke`` calls the same methods directly.
    """

    def __init__(self, conn: sqlite3.Connection, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self._lane = WorkerLane("checkpoint", workers=1)

    def _off_loop(self, fn: Callable[[], T]) -> Awaitable[T]:
        return asyncio.wrap_future(self._lane.submit(fn))

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        return await self._off_loop(lambda: self.get_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        found = await self._off_loop(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        return await self._off_loop(lambda: self.put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        await self._off_loop(lambda: self.put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        await self._off_loop(lambda: self.delete_thread(thread_id))


def default_checkpoint_path(data_dir: str | Path | None = None) -> Path:
    """``<data dir>/checkpoints.sqlite`` (the data dir defaults to the user's)."""
    return (Path(data_dir) if data_dir is not None else default_data_dir()) / CHECKPOINT_FILE


@storage_typed
def sqlite_checkpointer(path: str | Path | None = None) -> NovaSqliteSaver:
    """A SQLite checkpointer at ``path`` (default ``<data dir>/checkpoints.sqlite``), user-only.

    The directory is created ``0700`` and the database file ``0600`` (also its WAL files).
    """
    if path is not None and not isinstance(path, str | Path):
        raise InvalidRequestError(
            f"checkpoint path must be a str or pathlib.Path, got {type(path).__name__}"
        )
    db = Path(path) if path is not None else default_checkpoint_path()
    if db.exists() and db.is_dir():
        raise InvalidRequestError(f"checkpoint path {db} is a directory; give a file path")
    private_dir(db.parent)
    private_file(db)  # SQLite gives its -wal/-shm files the database file's permissions
    conn = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    # WAL + NORMAL: a killed process loses nothing committed; only an OS crash or power loss
    # can drop the last transactions. FULL would fsync every checkpoint (~8x slower).
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = NovaSqliteSaver(conn)
    saver.setup()
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return saver
