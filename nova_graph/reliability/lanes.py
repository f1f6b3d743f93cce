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
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class _Outcome(Protocol):
    """What a worker reports to: a :class:`Future`, or a :class:`_Call` (one blocking caller)."""

    def set_running_or_notify_cancel(self) -> bool: ...
    def set_result(self, result: Any) -> None: ...
    def set_exception(self, exception: BaseException | None) -> None: ...


_Work = tuple[_Outcome, contextvars.Context, Callable[[], Any]]

_PENDING, _RUNNING, _CANCELLED = 0, 1, 2


class _Call(Generic[T]):
    """The outcome of one call a thread waits for: one lock released when it is done.

    A :class:`Future` wakes its waiter through a condition (a lock per wait, then the condition's
    own lock taken back), which costs the waiting thread one more sleep and wake-up per call; on
    this path every agent step waits for its lane, so the lighter hand-off matters.
    """

    __slots__ = ("_done", "_error", "_guard", "_state", "_value")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()  # released once, when the call has finished
        self._guard = threading.Lock()
        self._state = _PENDING
        self._value: Any = None
        self._error: BaseException | None = None

    def set_running_or_notify_cancel(self) -> bool:
        """Mark the call started; ``False`` when its caller gave up first (then it never runs)."""
        with self._guard:
            if self._state == _CANCELLED:
                return False
            self._state = _RUNNING
            return True

    def set_result(self, result: Any) -> None:
        """Hand the call's return value to the waiting thread."""
        self._value = result
        self._done.release()

    def set_exception(self, exception: BaseException | None) -> None:
        """Hand the call's exception to the waiting thread."""
        self._error = exception
        self._done.release()

    def cancel(self) -> bool:
        """Give up on a call that has not started (it will not run); ``False`` once it has."""
        with self._guard:
            if self._state == _PENDING:
                self._state = _CANCELLED
                return True
            return False

    def result(self, timeout: float | None) -> T:
        """Wait at most ``timeout`` seconds for the outcome; :class:`TimeoutError` after that."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._value  # type: ignore[no-any-return]


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
        self._idle = 0

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn`` to run in this lane with the caller's context; returns its future."""
        future: Future[T] = Future()
        self._start(future, fn)
        return future

    def call(self, fn: Callable[[], T], timeout: float | None) -> T:
        """Run ``fn`` in this lane with the caller's context and return its result (or raise its
        exception); :class:`TimeoutError` when it has not finished within ``timeout`` seconds
        (time waiting for a free worker included): it is then abandoned, and never started if it
        had not been."""
        call: _Call[T] = _Call()
        self._start(call, fn)
        try:
            return call.result(timeout)
        except TimeoutError:
            call.cancel()
            raise

    def _start(self, outcome: _Outcome, fn: Callable[[], Any]) -> None:
        self._queue.put((outcome, contextvars.copy_context(), fn))
        with self._lock:
            if self._idle == 0 and self._threads < self.workers:
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"nova-{self.name}-{self._threads}", daemon=True
                ).start()

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
            if not future.set_running_or_notify_cancel():
                continue  # its caller gave up before it started
            try:
                future.set_result(ctx.run(fn))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)
