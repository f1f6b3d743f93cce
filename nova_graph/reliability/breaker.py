"""A per-agent circuit breaker: an agent that keeps failing is skipped for a cool-down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nova_graph.errors import CircuitOpenError


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0


class CircuitBreaker:
    """Counts consecutive failed requests per agent; at ``threshold`` the circuit opens.

    While open, :meth:`check` raises :class:`CircuitOpenError` (the agent is skipped and the skip
    is reported). After ``cooldown_seconds`` one trial run is let through (half-open): a success
    closes the circuit, a failure opens it again for another cool-down.
    """

    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {threshold}")
        if cooldown_seconds < 0:
            raise ValueError(f"cooldown_seconds must be >= 0, got {cooldown_seconds}")
        self.threshold = threshold
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def check(self, agent: str) -> None:
        """Raise :class:`CircuitOpenError` when ``agent``'s circuit is open; else return."""
        with self._lock:
            c = self._circuits.get(agent)
            if c is None or c.open_until <= 0:
                return
            now = self.clock()
            if now < c.open_until:
                until = datetime.fromtimestamp(c.open_until, UTC).isoformat(timespec="seconds")
                raise CircuitOpenError(
                    f"skipped: circuit open until {until} after {c.failures} consecutive "
                    f"failures of agent {agent!r}; it will be tried again after the cool-down"
                )
            c.open_until = 0.0  # half-open: let one trial run through
            c.failures = self.threshold - 1

    def record_success(self, agent: str) -> None:
        """A run of ``agent`` succeeded: close its circuit."""
        if agent not in self._circuits:  # closed already: the usual case, no lock to take
            return
        with self._lock:
            self._circuits.pop(agent, None)

    def record_failure(self, agent: str) -> None:
        """A run of ``agent`` failed after its retries: count it, open the circuit at threshold."""
        with self._lock:
            c = self._circuits.setdefault(agent, _Circuit())
            c.failures += 1
            if c.failures >= self.threshold:
                c.open_until = self.clock() + self.cooldown_seconds

    def is_open(self, agent: str) -> bool:
        """True while ``agent`` is being skipped."""
        with self._lock:
            c = self._circuits.get(agent)
            return c is not None and c.open_until > self.clock()
