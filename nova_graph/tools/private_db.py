"""Tool-owned SQLite stores: a private (mode 0o600) file with its schema applied on open."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def open_private_db(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to the SQLite file at ``path`` with ``schema`` applied, closed on exit.

    The file is created with mode 0o600 when missing (its folder must exist); rows come back as
    :class:`sqlite3.Row`. ``schema`` should be idempotent (``CREATE TABLE IF NOT EXISTS``).
    """
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        conn.executescript(schema)
        yield conn
    finally:
        conn.close()
