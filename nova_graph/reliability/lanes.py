"""``WorkerLane``: a few reusable daemon threads per agent, so a hung agent blocks only itself.

Blocking work (a sync model, a sync tool) cannot be cancelled in Python. Run on a shared pool
(the event loop's default executor, for instance), a few hung calls occupy every worker and every
other agent queues behind them until it times out. Each agent gets its own lane instead: a hung
call holds one of that agent's threads until it returns, and other agents never wait for it.
The threads are daemons, so a call that never returns does not keep the process alive.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Work = tuple[Future[Any], contextvars.Context, Callable[[], Any]]


class WorkerLane:
    """A bounded set of reusable daemon worker threads (started on demand, up to ``workers``)."""

    def __init__(self, name: str, *, workers: int = 8) -> None:
        if workers < 1:
            raise ValueError(f"a worker lane needs at least one worker, got {workers}")
        self.name = name
        self.workers = workers
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for work
        self._pending = 0  # calls queued and not yet taken by a thread

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn`` to run in this lane with the caller's context; returns its future."""
        future: Future[T] = Future()
        with self._lock:
            self._queue.put((future, contextvars.copy_context(), fn))
            self._pending += 1
            # a thread for every queued call no idle thread will take, up to the cap (a thread
            # that just became idle takes one call, not all of them)
            if self._pending > self._idle and self._threads < self.workers:
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"nova-{self.name}-{self._threads}", daemon=True
                ).start()
        return future

    def call(self, fn: Callable[[], T], timeout: float | None) -> T:
        """Run ``fn`` in this lane with the caller's context and return its result (or raise its
        exception); :class:`TimeoutError` when it has not finished within ``timeout`` seconds
        (time waiting for a free worker included): it is then abandoned, and never started if it
        had not been."""
        future = self.submit(fn)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError since 3.11
            future.cancel()  # if it never started, it never will
            raise

    @property
    def threads(self) -> int:
        """How many worker threads this lane has started (never more than ``workers``)."""
        return self._threads

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            future, ctx, fn = self._queue.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if not future.set_running_or_notify_cancel():
                continue  # its caller gave up before it started
            try:
                future.set_result(ctx.run(fn))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)
