"""Private files: every directory nova_graph creates is 0700 and every file 0600.

:func:`private_dir` creates a data or cache directory (and any missing parents) user-only;
:func:`private_umask` makes files that third-party code creates inside a block (Chroma's
database and index files, SQLite's journals) user-only too, whoever creates them first;
:func:`private_file` creates or tightens one file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077

_umask_lock = threading.Lock()
_umask_depth = 0
_saved_umask = 0


@contextmanager
def private_umask() -> Iterator[None]:
    """Run a block with the process umask at 0o077 (no group/other bits on what it creates).

    The umask is process-wide: while any thread is inside such a block, files any thread creates
    are user-only (stricter, never looser). Nested and concurrent blocks restore the original
    umask when the last one exits.
    """
    global _umask_depth, _saved_umask
    with _umask_lock:
        if _umask_depth == 0:
            _saved_umask = os.umask(PRIVATE_UMASK)
        _umask_depth += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_depth -= 1
            if _umask_depth == 0:
                os.umask(_saved_umask)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) with mode 0700 and return it.

    Directories that already exist are left as they are (they may be shared, like ``/tmp``);
    every directory this call creates is user-only regardless of the umask.
    """
    target = Path(path)
    missing = []
    probe = target
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    with private_umask():
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for made in missing:
        os.chmod(made, 0o700)
    return target


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty if missing (its directory must exist), then make it mode 0600."""
    target = Path(path)
    if not target.exists():
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(target, 0o600)
    return target
