"""Turn a full disk or an unwritable data directory into a typed :class:`StorageError`."""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from nova_graph.errors import NovaError, StorageError

_STORAGE_ERRNOS = {
    errno.ENOSPC,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.EDQUOT,
}
P = ParamSpec("P")
R = TypeVar("R")


def storage_error(exc: BaseException) -> StorageError | None:
    """The typed error for ``exc`` when it is a storage failure, else ``None``."""
    if isinstance(exc, NovaError):
        return None
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        what = str(exc)
    elif isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        what = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    else:
        return None
    return StorageError(
        f"the data store could not be written ({what}); free disk space, make the data "
        "directory writable (NOVA_DATA_DIR / --data-dir) or point it at another directory"
    )


@contextmanager
def typed_storage_errors() -> Iterator[None]:
    """Re-raise storage failures inside the block as :class:`StorageError`."""
    try:
        yield
    except Exception as exc:
        typed = storage_error(exc)
        if typed is None:
            raise
        raise typed from exc


def storage_typed(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: ``func``'s storage failures come out as :class:`StorageError`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with typed_storage_errors():
            return func(*args, **kwargs)

    return wrapper


def iter_storage_typed(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, with storage failures while iterating raised as :class:`StorageError`."""
    with typed_storage_errors():
        yield from items


async def aiter_storage_typed(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``items`` (async), with storage failures raised as :class:`StorageError`."""
    with typed_storage_errors():
        async for item in items:
            yield item
