"""Turn an agent's exception into state: a failed result and a ``Failure`` record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.errors import NodeError, NodeTimeoutError
from langgraph.types import Command

from nova_graph.errors import AgentTimeoutError, CircuitOpenError
from nova_graph.reliability.breaker import CircuitBreaker
from nova_graph.reliability.redact import redact
from nova_graph.state import AgentResult, AgentTask, Failure

MAX_MESSAGE_CHARS = 500
ATTEMPT_ATTR = "nova_attempts"


def error_type(exc: BaseException) -> str:
    """A short, stable name for the kind of failure."""
    if isinstance(exc, AgentTimeoutError | NodeTimeoutError):
        return "Timeout"
    if isinstance(exc, CircuitOpenError):
        return "CircuitOpen"
    return type(exc).__name__


def failure_update(
    agent: str, task: AgentTask | dict[str, Any], exc: BaseException, attempts: int
) -> dict[str, Any]:
    """The state update recording ``agent``'s failure: a failed result plus a failure record."""
    message = redact(str(exc) or repr(exc))
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    failure = Failure(agent=agent, error_type=error_type(exc), message=message, attempts=attempts)
    if task.get("repeat"):  # its agent runs several steps of the plan: say which one failed
        failure["step"] = str(task["step"])
    result = AgentResult(
        agent=agent,
        request=str(task.get("request", "")),
        answer="",
        status="failed",
        tool_calls=[],
        memories=list(task.get("memories", [])),
        model_calls=0,
        latency_ms=0.0,
        attempts=attempts,
    )
    if "step" in task:
        result["step"] = str(task["step"])
    update: dict[str, Any] = {"results": {agent: result}, "failures": [failure]}
    if task.get("repeat"):
        update["step_results"] = {str(task["step"]): result}
    return update


def make_error_handler(
    agent: str, breaker: CircuitBreaker | None, *, goto: str | None = None
) -> Callable[[AgentTask, NodeError], Command[Any]]:
    """LangGraph ``error_handler`` for an agent node: runs after the last attempt has failed.

    It records the failure and continues to ``goto`` (the join node), which a failed node's own
    edges would not reach.
    """

    def handle_agent_error(task: AgentTask, error: NodeError) -> Command[Any]:
        exc = error.error
        if breaker is not None and not isinstance(exc, CircuitOpenError):
            breaker.record_failure(agent)
        attempts = getattr(exc, ATTEMPT_ATTR, 1)
        update = failure_update(agent, task, exc, attempts)
        return Command(update=update, goto=goto) if goto else Command(update=update)

    handle_agent_error.__name__ = f"agent_{agent}_failed"
    return handle_agent_error
