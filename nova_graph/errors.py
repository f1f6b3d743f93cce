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
