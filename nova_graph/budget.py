"""Budgets: the most one request (or one agent's part of it) may spend.

A :class:`Budget` caps model calls, tokens, money and wall time. It is checked before each model
call: a part that has reached a limit stops with :class:`~nova_graph.errors.BudgetExceededError`
naming the limit, and the other parts of the request carry on. A call that crosses the token or
money limit completes (its cost is only known afterwards), but no further call starts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from nova_graph.state import ModelCallRecord, TurnInfo

_REQUESTS_KEPT = 1024


class Budget(BaseModel):
    """Limits per request (settings ``NOVA_BUDGET__*``) or per agent (the roster's ``budget``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_model_calls: int | None = Field(default=None, ge=1, description="Model calls.")
    max_tokens: int | None = Field(default=None, ge=1, description="Input + output tokens.")
    max_cost: float | None = Field(default=None, gt=0, description="Money, as priced.")
    max_seconds: float | None = Field(default=None, gt=0, description="Wall-clock seconds.")

    @property
    def unlimited(self) -> bool:
        """True when no limit is set."""
        return all(
            v is None
            for v in (self.max_model_calls, self.max_tokens, self.max_cost, self.max_seconds)
        )


@dataclass
class Spend:
    """What has been spent so far (thread-safe to add to)."""

    started_at: float
    model_calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, call: ModelCallRecord) -> None:
        """Count the tokens and money of one finished model call (reserved with ``reserve``)."""
        with self._lock:
            self.tokens += call["input_tokens"] + call["output_tokens"]
            self.cost += call["cost"]

    def reserve(self, budget: Budget | None) -> str | None:
        """Count one more model call if ``budget`` allows it; else say which limit it reached.

        Check and count are one step, so agents running in parallel cannot both take the last
        call a budget allows.
        """
        with self._lock:
            reason = self._limit_reached(budget) if budget is not None else None
            if reason is None:
                self.model_calls += 1
            return reason

    def _limit_reached(self, budget: Budget, *, now: float | None = None) -> str | None:
        """Why another model call would exceed ``budget`` (``None`` when it may go ahead)."""
        elapsed = (time.time() if now is None else now) - self.started_at
        if budget.max_model_calls is not None and self.model_calls + 1 > budget.max_model_calls:
            return f"max_model_calls={budget.max_model_calls} ({self.model_calls} made)"
        if budget.max_tokens is not None and self.tokens >= budget.max_tokens:
            return f"max_tokens={budget.max_tokens} ({self.tokens} used)"
        if budget.max_cost is not None and self.cost >= budget.max_cost:
            return f"max_cost={budget.max_cost:g} ({self.cost:.6g} spent)"
        if budget.max_seconds is not None and elapsed >= budget.max_seconds:
            return f"max_seconds={budget.max_seconds:g} ({elapsed:.2f} s elapsed)"
        return None


class RequestSpends:
    """The :class:`Spend` of each recent turn, shared by the agents of that turn."""

    def __init__(self, kept: int = _REQUESTS_KEPT) -> None:
        self._spends: OrderedDict[str, Spend] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()

    def of(self, turn: TurnInfo) -> Spend:
        """The spend of ``turn`` (created on first use)."""
        with self._lock:
            spend = self._spends.get(turn["id"])
            if spend is None:
                spend = self._spends[turn["id"]] = Spend(started_at=turn["started_at"])
                while len(self._spends) > self._kept:
                    self._spends.popitem(last=False)
            return spend


#: The process-wide request spends (one turn runs in one process).
REQUEST_SPENDS = RequestSpends()
