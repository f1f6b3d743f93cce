"""``MemoryStore``: what the graph needs from a long-term memory (Chroma's or your own)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from nova_graph.memory.model import Memory


@runtime_checkable
class MemoryStore(Protocol):
    """Stores texts per namespace and recalls the current ones closest to a query.

    :class:`~nova_graph.memory.ChromaMemory` is the packaged implementation; any object with
    these two methods can be passed as ``build_graph(memory=...)``.
    """

    def remember(
        self,
        text: str,
        *,
        namespace: str,
        key: str | None = None,
        ttl: timedelta | float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store ``text`` in ``namespace`` (replacing a current memory with the same ``key``);
        return its id."""
        ...

    def recall(
        self,
        query: str,
        *,
        namespace: str,
        k: int = 5,
        now: datetime | None = None,
        agent: str | None = None,
        family: str | None = None,
    ) -> list[Memory]:
        """The ``k`` current memories closest to ``query``, best first; with ``agent``/``family``
        only those tagged for that agent or family, or untagged."""
        ...
