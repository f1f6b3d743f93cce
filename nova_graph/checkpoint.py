"""Checkpointers: durable SQLite by default, so conversations and interrupted runs survive."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from nova_graph.tools.context import default_data_dir


def sqlite_checkpointer(path: str | Path | None = None) -> SqliteSaver:
    """A SQLite checkpointer at ``path`` (default ``<data dir>/checkpoints.sqlite``), user-only."""
    db = Path(path) if path is not None else default_data_dir() / "checkpoints.sqlite"
    db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not db.exists():
        db.touch(mode=0o600)
    os.chmod(db, 0o600)
    conn = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver
