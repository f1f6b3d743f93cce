"""Run a blocking or async call with a wall-clock deadline (sync nodes cannot be cancelled)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nova_graph.errors import AgentTimeoutError

T = TypeVar("T")


def call_with_deadline(fn: Callable[[], T], seconds: float | None, *, what: str) -> T:
    """Return ``fn()``, or raise :class:`AgentTimeoutError` after ``seconds``.

    ``fn`` runs in a daemon thread with the caller's context (so LangGraph config, callbacks and
    interrupts still reach it). A call that overruns is abandoned, not killed: Python cannot stop
    a thread, so its late result is discarded.
    """
    if seconds is None:
        return fn()
    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"nova-{what}", daemon=True).start()
    if not done.wait(seconds):
        raise AgentTimeoutError(f"{what} did not finish within {seconds:g} s; it was abandoned")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


async def acall_with_deadline(
    make: Callable[[], Awaitable[T]], seconds: float | None, *, what: str
) -> T:
    """Await ``make()``, or raise :class:`AgentTimeoutError` after ``seconds`` (cancelling it)."""
    if seconds is None:
        return await make()
    try:
        return await asyncio.wait_for(make(), seconds)
    except TimeoutError:
        raise AgentTimeoutError(
            f"{what} did not finish within {seconds:g} s; it was cancelled"
        ) from None
