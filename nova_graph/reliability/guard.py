"""``GuardedGraph``: the compiled Nova graph, refusing bad input before it is checkpointed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from nova_graph.reliability.threadlock import (
    ThreadLocks,
    alocked_stream,
    locked_stream,
    thread_id_of,
)
from nova_graph.validation import DEFAULT_MAX_REQUEST_BYTES, validate_payload


class GuardedGraph(CompiledStateGraph):  # type: ignore[type-arg]
    """A compiled graph whose ``invoke``/``stream`` (sync and async) validate the input first.

    Without this, a malformed payload is saved as the thread's pending input and then fails
    when applied, leaving the thread unreadable; here it raises ``InvalidRequestError`` and the
    checkpoint is untouched. With ``thread_locks`` set, turns on one ``thread_id`` run one at a
    time (see :mod:`nova_graph.reliability.threadlock`).
    """

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    thread_locks: ThreadLocks | None = None

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream as LangGraph does."""
        validate_payload(input, max_bytes=self.max_request_bytes)
        thread_id = thread_id_of(config)
        if self.thread_locks is None or thread_id is None:
            return super().stream(input, config, **kwargs)
        return locked_stream(
            self.thread_locks,
            thread_id,
            lambda: CompiledStateGraph.stream(self, input, config, **kwargs),
        )

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream asynchronously as LangGraph does."""
        validate_payload(input, max_bytes=self.max_request_bytes)
        thread_id = thread_id_of(config)
        if self.thread_locks is None or thread_id is None:
            return super().astream(input, config, **kwargs)
        return alocked_stream(
            self.thread_locks,
            thread_id,
            lambda: CompiledStateGraph.astream(self, input, config, **kwargs),
        )


def guard_inputs(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    *,
    max_request_bytes: int,
    thread_locks: ThreadLocks | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Make ``graph`` validate every input before it reaches the checkpointer (in place), and
    run one turn per thread at a time when ``thread_locks`` is given."""
    graph.__class__ = GuardedGraph
    graph.max_request_bytes = max_request_bytes  # type: ignore[attr-defined]
    graph.thread_locks = thread_locks  # type: ignore[attr-defined]
    return graph
