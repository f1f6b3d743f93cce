"""``GuardedGraph``: a compiled graph refusing bad or oversized input before it is checkpointed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

from langgraph.errors import EmptyInputError
from langgraph.graph.state import CompiledStateGraph

from nova_graph.errors import InvalidRequestError
from nova_graph.input_checks import InputLimits, validate_payload, validate_update
from nova_graph.reliability.redact import SecretScrubber
from nova_graph.reliability.storage import (
    aiter_storage_typed,
    iter_storage_typed,
    typed_storage_errors,
)
from nova_graph.reliability.threadlock import (
    ThreadLocks,
    alocked_stream,
    locked_stream,
    thread_id_of,
)

_OWN_FIELDS = ("__orig_class__", "limits", "thread_locks")


class GuardedGraph(CompiledStateGraph):  # type: ignore[type-arg]
    """A compiled graph whose entry points check their input against ``limits`` first.

    ``invoke``/``stream`` (sync and async; ``invoke`` runs through ``stream``) check the input,
    a ``Command``'s resume value and update, and ``update_state`` its values. LangGraph writes
    the input to the thread's checkpoint before any node runs, so a check inside the graph would
    come too late: a malformed or oversized payload would be stored and replayed. Here it raises
    ``InvalidRequestError`` and the checkpoint is untouched, leaving the thread usable.
    A full disk or unwritable data directory while running raises ``StorageError``, and every
    node's error is scrubbed of secrets (``SecretScrubber``) before it is checkpointed. With
    ``thread_locks`` set, turns on one ``thread_id`` run one at a time (see
    :mod:`nova_graph.reliability.threadlock`). Build one with :meth:`from_compiled`.
    """

    limits: InputLimits = InputLimits()
    thread_locks: ThreadLocks | None = None

    @classmethod
    def from_compiled(
        cls,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        limits: InputLimits,
        *,
        thread_locks: ThreadLocks | None = None,
    ) -> GuardedGraph:
        """A guarded copy of ``graph`` (built the way LangGraph's own ``copy`` builds one)."""
        guarded = cls(**_init_fields(graph))
        guarded.limits = limits
        guarded.thread_locks = thread_locks
        if not any(isinstance(c, SecretScrubber) for c in _callbacks(graph)):
            # every node's error is scrubbed before LangGraph checkpoints it
            guarded = guarded.with_config(callbacks=[SecretScrubber()])
        return guarded

    def with_limits(self, limits: InputLimits) -> GuardedGraph:
        """This graph with other input limits."""
        return GuardedGraph.from_compiled(self, limits, thread_locks=self.thread_locks)

    def copy(self, update: dict[str, Any] | None = None) -> Self:
        """As LangGraph's ``copy`` (used by ``with_config``), keeping the limits and locks."""
        attrs = {**_init_fields(self), **(update or {})}
        copied = self.__class__(**attrs)
        copied.limits = self.limits
        copied.thread_locks = self.thread_locks
        return copied

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream as LangGraph does (one turn per thread at a time)."""
        validate_payload(input, limits=self.limits)
        thread_id = thread_id_of(config)
        if self.thread_locks is None or thread_id is None:
            return _continuable(iter_storage_typed(super().stream(input, config, **kwargs)))
        return _continuable(
            iter_storage_typed(
                locked_stream(
                    self.thread_locks,
                    thread_id,
                    lambda: CompiledStateGraph.stream(self, input, config, **kwargs),
                )
            )
        )

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        """Validate ``input``, then stream asynchronously as LangGraph does."""
        validate_payload(input, limits=self.limits)
        thread_id = thread_id_of(config)
        if self.thread_locks is None or thread_id is None:
            return _acontinuable(aiter_storage_typed(super().astream(input, config, **kwargs)))
        return _acontinuable(
            aiter_storage_typed(
                alocked_stream(
                    self.thread_locks,
                    thread_id,
                    lambda: CompiledStateGraph.astream(self, input, config, **kwargs),
                )
            )
        )

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


_NOTHING_TO_CONTINUE = (
    "there is nothing to continue on this thread (input None); send a request like "
    "{'messages': [{'role': 'user', 'content': '...'}]}"
)


def _continuable(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, with LangGraph's error for ``None`` input on a new thread made typed."""
    try:
        yield from items
    except EmptyInputError:
        raise InvalidRequestError(_NOTHING_TO_CONTINUE) from None


async def _acontinuable(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """As :func:`_continuable`, asynchronously."""
    try:
        async for item in items:
            yield item
    except EmptyInputError:
        raise InvalidRequestError(_NOTHING_TO_CONTINUE) from None


def _callbacks(graph: CompiledStateGraph[Any, Any, Any, Any]) -> list[Any]:
    callbacks = (graph.config or {}).get("callbacks")
    return list(callbacks) if isinstance(callbacks, list) else []


def _init_fields(graph: CompiledStateGraph[Any, Any, Any, Any]) -> dict[str, Any]:
    return {k: v for k, v in graph.__dict__.items() if k not in _OWN_FIELDS}
