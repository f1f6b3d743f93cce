"""``GuardedGraph``: the compiled Nova graph, refusing bad input before it is checkpointed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from nova_graph.validation import DEFAULT_MAX_REQUEST_BYTES, validate_payload


class GuardedGraph(CompiledStateGraph):  # type: ignore[type-arg]
    """A compiled graph whose ``invoke``/``stream`` (sync and async) validate the input first.

    Without this, a malformed payload is saved as the thread's pending input and then fails
    when applied, leaving the thread unreadable; here it raises ``InvalidRequestError`` and the
    checkpoint is untouched.
    """

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream as LangGraph does."""
        validate_payload(input, max_bytes=self.max_request_bytes)
        return super().stream(input, config, **kwargs)

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream asynchronously as LangGraph does."""
        validate_payload(input, max_bytes=self.max_request_bytes)
        return super().astream(input, config, **kwargs)


def guard_inputs(
    graph: CompiledStateGraph[Any, Any, Any, Any], *, max_request_bytes: int
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Make ``graph`` validate every input before it reaches the checkpointer (in place)."""
    graph.__class__ = GuardedGraph
    graph.max_request_bytes = max_request_bytes  # type: ignore[attr-defined]
    return graph
