"""The typed error hierarchy of nova_graph.

Every error says what was wrong and what to do about it. Catch :class:`NovaError` to catch
them all.
"""

from __future__ import annotations


class NovaError(Exception):
    """Base class of every error nova_graph raises on purpose."""


class InvalidRequestError(NovaError, ValueError):
    """A request (user text or API argument) is empty, too large, malformed or of the wrong type."""


class RosterError(NovaError, ValueError):
    """A roster file or agent specification is invalid (duplicate names, unknown tools, ...)."""


class RoutingError(NovaError):
    """The router could not be built, calibrated, saved or loaded."""


class RoutingModelError(RoutingError):
    """The router's language-model fallback kept failing; ``attempts`` says how often it tried."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class MemoryStoreError(NovaError):
    """The vector memory rejected an operation (bad input, unreachable server, ...)."""


class ToolError(NovaError):
    """A tool was called with bad arguments or its backing store failed."""


class ModelConfigError(NovaError):
    """The language-model configuration is incomplete or inconsistent."""


class AgentFailure(NovaError):
    """An agent failed after its retries; carried in state as a failure record."""


class PipelineError(ToolError):
    """A pipeline file names an unknown step, or a run/retry request cannot be carried out."""


class ConfigurationError(NovaError, ValueError):
    """Settings (``NOVA_*`` environment variables) are invalid or name an unreachable service."""


class StorageError(NovaError, OSError):
    """The data directory or a database in it could not be written (disk full, read-only, ...)."""


class RunLogError(NovaError):
    """The run log could not be read or written, or a run id / feedback was invalid."""


class ImprovementError(NovaError):
    """The self-improvement loop could not propose, apply or roll back a change."""


class AgentTimeoutError(AgentFailure, TimeoutError):
    """An agent did not finish within its time limit (transient: the graph retries it)."""


class CircuitOpenError(AgentFailure):
    """An agent kept failing, so it is skipped until its circuit breaker's cool-down ends."""


class McpServerError(ToolError):
    """An MCP server the roster declares did not start, could not be reached or timed out."""


class CalibrationWarning(UserWarning):
    """The default router could not be calibrated on the roster (too few examples) and uses
    its default thresholds."""


class ThreadBusyError(NovaError):
    """Another turn on the same conversation thread is still running; one writer at a time."""


class BudgetExceededError(AgentFailure):
    """A request or agent reached one of its budgets (model calls, tokens, money, wall time);
    that part stops and says which limit it reached."""


class PlanError(InvalidRequestError):
    """A request's plan is not sensible: too many steps, too deep, a cycle or an unknown step."""
