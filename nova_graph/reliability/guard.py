"""``GuardedGraph``: a compiled graph refusing bad or oversized input before it is checkpointed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

from langgraph.graph.state import CompiledStateGraph

from nova_graph.reliability.redact import SecretScrubber
from nova_graph.reliability.storage import (
    aiter_storage_typed,
    iter_storage_typed,
    typed_storage_errors,
)
from nova_graph.validation import InputLimits, validate_payload, validate_update


class GuardedGraph(CompiledStateGraph):  # type: ignore[type-arg]
    """A compiled graph whose entry points check their input against ``limits`` first.

    ``invoke``/``stream`` (sync and async; ``invoke`` runs through ``stream``) check the input,
    a ``Command``'s resume value and update, and ``update_state`` its values. LangGraph writes
    the input to the thread's checkpoint before any node runs, so a check inside the graph would
    come too late: a malformed or oversized payload would be stored and replayed. Here it raises
    ``InvalidRequestError`` and the checkpoint is untouched, leaving the thread usable.
    A full disk or unwritable data directory while running raises ``StorageError``, and every
    node's error is scrubbed of secrets (``SecretScrubber``) before it is checkpointed.
    Build one with :meth:`from_compiled`.
    """

    limits: InputLimits = InputLimits()

    @classmethod
    def from_compiled(
        cls, graph: CompiledStateGraph[Any, Any, Any, Any], limits: InputLimits
    ) -> GuardedGraph:
        """A guarded copy of ``graph`` (built the way LangGraph's own ``copy`` builds one)."""
        guarded = cls(**_init_fields(graph))
        guarded.limits = limits
        if not any(isinstance(c, SecretScrubber) for c in _callbacks(graph)):
            # every node's error is scrubbed before LangGraph checkpoints it
            guarded = guarded.with_config(callbacks=[SecretScrubber()])
        return guarded

    def with_limits(self, limits: InputLimits) -> GuardedGraph:
        """This graph with other input limits."""
        return GuardedGraph.from_compiled(self, limits)

    def copy(self, update: dict[str, Any] | None = None) -> Self:
        """As LangGraph's ``copy`` (used by ``with_config``), keeping the limits."""
        attrs = {**_init_fields(self), **(update or {})}
        copied = self.__class__(**attrs)
        copied.limits = self.limits
        return copied

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream as LangGraph does."""
        validate_payload(input, limits=self.limits)
        return iter_storage_typed(super().stream(input, config, **kwargs))

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream asynchronously as LangGraph does."""
        validate_payload(input, limits=self.limits)
        return aiter_storage_typed(super().astream(input, config, **kwargs))

    def bulk_update_state(self, config: Any, supersteps: Sequence[Any]) -> Any:
        """Validate every update's values, then apply them as LangGraph does."""
        self._check_updates(supersteps)
        with typed_storage_errors():
            return super().bulk_update_state(config, supersteps)

    async def abulk_update_state(self, config: Any, supersteps: Sequence[Any]) -> Any:
        """Validate every update's values, then apply them asynchronously."""
        self._check_updates(supersteps)
        with typed_storage_errors():
            return await super().abulk_update_state(config, supersteps)

    def _check_updates(self, supersteps: Sequence[Any]) -> None:
        for step in supersteps:
            for update in step:
                if update.values is not None:
                    validate_update(update.values, self.limits)


def _callbacks(graph: CompiledStateGraph[Any, Any, Any, Any]) -> list[Any]:
    callbacks = (graph.config or {}).get("callbacks")
    return list(callbacks) if isinstance(callbacks, list) else []


def _init_fields(graph: CompiledStateGraph[Any, Any, Any, Any]) -> dict[str, Any]:
    return {k: v for k, v in graph.__dict__.items() if k not in ("__orig_class__", "limits")}
