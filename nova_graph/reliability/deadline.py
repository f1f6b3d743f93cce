"""Run a blocking or async call with a wall-clock deadline (sync calls cannot be cancelled)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nova_graph.errors import AgentTimeoutError
from nova_graph.reliability.lanes import WorkerLane

T = TypeVar("T")


def call_with_deadline(
    fn: Callable[[], T], seconds: float | None, *, what: str, lane: WorkerLane | None = None
) -> T:
    """Return ``fn()``, or raise :class:`AgentTimeoutError` after ``seconds``.

    With a deadline, ``fn`` runs on ``lane`` (default: a thread of its own) with the caller's
    context (so LangGraph config, callbacks and interrupts still reach it). A call that overruns
    is abandoned, not killed: Python cannot stop a thread, so its late result is discarded. Time
    spent waiting for a free worker counts against ``seconds``. With ``seconds=None`` there is
    nothing to abandon, so ``fn`` runs in the calling thread (the caller would wait for it
    anyway) and no thread hand-off is paid.
    """
    if seconds is None:
        return fn()
    try:
        return (lane or WorkerLane(what, workers=1)).call(fn, seconds)
    except TimeoutError:  # if it never started, it never will
        raise AgentTimeoutError(
            f"{what} did not finish within {seconds:g} s; it was abandoned"
        ) from None


async def acall_in_lane(
    fn: Callable[[], T], seconds: float | None, *, what: str, lane: WorkerLane
) -> T:
    """Async :func:`call_with_deadline`: await blocking ``fn()`` run on ``lane``."""
    future = lane.submit(fn)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), seconds)
    except TimeoutError:
        future.cancel()
        raise AgentTimeoutError(
            f"{what} did not finish within {seconds:g} s; it was abandoned"
        ) from None


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
