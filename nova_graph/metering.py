"""Metering one agent attempt: each model call (tokens, cost, latency) and tool call (status,
latency), budgets checked before each model call, and the matching trace spans.

The agent loop calls three hooks (``pre_model_hook``, ``post_model_hook`` and the tool node's
``wrap_tool_call``); they find the current attempt's :class:`AgentMeter` through a context
variable the agent node sets (LangGraph and the worker lanes copy the context into their
threads), so one compiled loop serves every attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from nova_graph import tracing
from nova_graph.budget import REQUEST_SPENDS, Budget, Spend
from nova_graph.errors import BudgetExceededError
from nova_graph.state import ModelCallRecord, TurnInfo
from nova_graph.tools.outcome import tool_failed
from nova_graph.usage import PriceTable, model_call_record

_CURRENT: ContextVar[AgentMeter | None] = ContextVar("nova_agent_meter", default=None)


class AgentMeter:
    """What one agent attempt spends, and the limits it runs under."""

    def __init__(
        self,
        agent: str,
        *,
        model: str,
        prices: PriceTable,
        agent_budget: Budget | None = None,
        request_budget: Budget | None = None,
        turn: TurnInfo | None = None,
    ) -> None:
        self.agent = agent
        self.model = model
        self.prices = prices
        self.agent_budget = agent_budget if agent_budget and not agent_budget.unlimited else None
        self.request_budget = (
            request_budget if request_budget and not request_budget.unlimited else None
        )
        self.agent_spend = Spend(started_at=time.time())
        self.request_spend = REQUEST_SPENDS.of(turn) if turn is not None else None
        self.model_calls: list[ModelCallRecord] = []
        self.tool_latency_ms: dict[str, float] = {}
        self._call_started = 0.0
        self._model_span: Any = None

    def active(self) -> _Active:
        """Make this the meter the hooks report to, for the calls made inside the block."""
        return _Active(self)

    # -- model calls ------------------------------------------------------------------------------
    def before_model_call(self) -> None:
        """Raise :class:`BudgetExceededError` when a limit is reached; else start timing."""
        self._check(self.agent_budget, self.agent_spend, f"agent {self.agent!r}", "agent")
        if self.request_spend is not None:
            self._check(self.request_budget, self.request_spend, "this request", "request")
        self._call_started = time.perf_counter()
        self._model_span = tracing.start_model_span(self.model)

    def after_model_call(self, message: AIMessage) -> None:
        """Record the call that produced ``message``."""
        latency = (time.perf_counter() - self._call_started) * 1000 if self._call_started else 0.0
        record = model_call_record(
            message, model=self.model, latency_ms=latency, prices=self.prices
        )
        self.model_calls.append(record)
        self.agent_spend.add(record)
        if self.request_spend is not None:
            self.request_spend.add(record)
        tracing.end_model_span(self._model_span, record)
        self._model_span, self._call_started = None, 0.0

    def _check(self, budget: Budget | None, spend: Spend, who: str, scope: str) -> None:
        reason = spend.reserve(budget)
        if reason is None:
            return
        where = (
            f"the roster's budget of agent {self.agent!r}"
            if scope == "agent"
            else "NOVA_BUDGET__" + reason.split("=", 1)[0].upper()
        )
        raise BudgetExceededError(
            f"{who} reached its {scope} budget {reason}; it stopped before another model call "
            f"(raise the limit in {where} to allow more)"
        )


class _Active:
    """The block of :meth:`AgentMeter.active` (a class, not a generator: entered at every agent
    attempt)."""

    __slots__ = ("meter", "token")

    def __init__(self, meter: AgentMeter) -> None:
        self.meter = meter

    def __enter__(self) -> AgentMeter:
        self.token = _CURRENT.set(self.meter)
        return self.meter

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        try:
            if exc is not None:  # a model call that raised
                tracing.mark_failed(self.meter._model_span, exc, end=True)
                self.meter._model_span = None
        finally:
            _CURRENT.reset(self.token)
        return False


def _meter() -> AgentMeter | None:
    return _CURRENT.get()


# -- hooks of the agent loop ----------------------------------------------------------------------
class ModelCallMeter(BaseCallbackHandler):
    """The agent model's own callback (set on the model, not in the run's config, so callbacks
    the caller passes, such as LangSmith's, are untouched): budgets before each call, tokens,
    cost and latency after it. It adds no node to the agent loop."""

    raise_error = True  # a budget stop must stop the call
    run_inline = True

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        """Before each model call: enforce budgets and start timing."""
        meter = _meter()
        if meter is not None:
            meter.before_model_call()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """After each model call: record its tokens, cost and latency."""
        meter = _meter()
        gens = response.generations[0] if response.generations else []
        gen = gens[0] if gens else None
        if meter is not None and isinstance(gen, ChatGeneration):
            message = gen.message
            if isinstance(message, AIMessage):
                meter.after_model_call(message)


MODEL_CALL_METER = ModelCallMeter()


def wrap_tool_call(request: Any, execute: Callable[[Any], Any]) -> Any:
    """Around each tool call: time it, trace it, and mark it failed when its message says so."""
    call = request.tool_call
    call_id = call.get("id") or ""
    started = time.perf_counter()
    with tracing.tool_span(str(call.get("name", "?")), call_id) as span:
        result = execute(request)
        if isinstance(result, ToolMessage) and tool_failed(result):
            tracing.mark_failed(span, "tool_error" if result.status == "error" else "failed")
    meter = _meter()
    if meter is not None:
        meter.tool_latency_ms[call_id] = (time.perf_counter() - started) * 1000
    return result


def metered(model: Any) -> Any:
    """A copy of ``model`` reporting each call to the current :class:`AgentMeter`."""
    if not hasattr(model, "callbacks"):
        return model
    own = model.callbacks
    if own is None:
        callbacks: Any = [MODEL_CALL_METER]
    elif isinstance(own, list):
        callbacks = [*own, MODEL_CALL_METER]
    else:  # a callback manager
        callbacks = own.copy()
        callbacks.add_handler(MODEL_CALL_METER, inherit=False)
    return model.model_copy(update={"callbacks": callbacks})
