"""``graph_from_settings``: build the checkpointer, memory, model and router from ``NovaSettings``.

``build_graph`` takes objects; this module turns configuration (environment variables) into those
objects, so a laptop, LangGraph Studio and a fleet of workers all run the same graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from nova_graph.checkpoint import sqlite_checkpointer
from nova_graph.checkpoint_postgres import postgres_checkpointer
from nova_graph.errors import ConfigurationError
from nova_graph.graph import build_graph
from nova_graph.models import default_model
from nova_graph.reliability.guard import GuardedGraph
from nova_graph.roster import Roster, load_roster
from nova_graph.routing.decision import Router
from nova_graph.routing.default import apply_thresholds, default_router
from nova_graph.routing.overlay import ExampleOverlay
from nova_graph.settings import NovaSettings, load_settings

if TYPE_CHECKING:
    from nova_graph.memory.protocol import MemoryStore


def checkpointer_from_settings(settings: NovaSettings) -> BaseCheckpointSaver[Any]:
    """PostgreSQL for a ``postgresql://`` URL, in memory for ``memory``, SQLite otherwise."""
    backend = settings.checkpoint_backend
    if backend == "postgres":
        return postgres_checkpointer(settings.checkpoint_url)  # type: ignore[no-any-return]
    if backend == "memory":
        return InMemorySaver()
    return sqlite_checkpointer(settings.sqlite_path)


def memory_from_settings(settings: NovaSettings) -> MemoryStore | None:
    """A ``ChromaMemory`` on a Chroma server (``http(s)://`` URL) or directory; None for 'off'."""
    if settings.chroma_url.lower() == "off":
        return None
    from nova_graph.memory import ChromaMemory

    if settings.chroma_is_server:
        return ChromaMemory(url=settings.chroma_url, open_on_first_use=True)
    return ChromaMemory(path=str(settings.chroma_path), open_on_first_use=True)


def model_from_settings(settings: NovaSettings) -> BaseChatModel:
    """The OpenAI-compatible model the settings name, or the embedded offline model."""
    return default_model(
        model_name=settings.model,
        timeout=settings.model_timeout,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
    )


def roster_from_settings(settings: NovaSettings) -> Roster:
    """The roster file the settings name (``NOVA_ROSTER_PATH``)."""
    if settings.roster_path is None:
        raise ConfigurationError(
            "no roster: set NOVA_ROSTER_PATH to a roster file or pass roster=... "
            "(Nova's app: nova_app.nova_graph_from_settings)"
        )
    return load_roster(settings.roster_path)


def router_from_settings(
    settings: NovaSettings,
    roster: Roster,
    model: BaseChatModel | None = None,
    thresholds: dict[str, Any] | None = None,
    overlay: ExampleOverlay | None = None,
) -> Router:
    """The default router (calibrated, cached) with the settings' thresholds; ``thresholds``
    are an improved version's pinned router settings, ``overlay`` its kept examples."""
    router = default_router(roster, model=model, thresholds=thresholds, overlay=overlay)
    knobs = {"threshold": settings.route_threshold, "ambiguity_margin": settings.ambiguity_margin}
    apply_thresholds(router, knobs)
    return router


def family_roster(family: str, roster: Roster) -> Roster:
    """The agents of one family as a roster of their own (for a per-family graph)."""
    agents = roster.by_family(family)
    if not agents:
        known = ", ".join(roster.families)
        raise ConfigurationError(
            f"unknown agent family {family!r}: the roster has none; use one of: {known}"
        )
    return roster.subset(agents)


def graph_from_settings(
    settings: NovaSettings | None = None,
    *,
    build: Callable[..., CompiledStateGraph[Any, Any, Any, Any]] = build_graph,
    default_roster: Callable[[], Roster] | None = None,
    **overrides: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the Nova graph from settings (default: the ``NOVA_*`` environment).

    Any ``build_graph`` keyword in ``overrides`` wins and its part is not built from settings,
    e.g. ``graph_from_settings(checkpointer=False)`` for the LangGraph server, which brings its
    own checkpointer. ``build`` builds the graph from the parts (default: ``build_graph``; an
    app passes its own, e.g. ``nova_app.build_nova_graph``). The roster is, in order: the
    ``roster`` override, the active ``nova improve`` version, ``NOVA_ROSTER_PATH``, then
    ``default_roster()`` (an app's own roster).
    """
    settings = settings if settings is not None else load_settings()
    parts: dict[str, Any] = dict(overrides)
    thresholds, overlay = None, None
    if "roster" not in parts:
        improved = _improved_setup(settings)
        if improved is not None:
            parts["roster"], thresholds = improved.roster, improved.settings
            overlay = improved.overlay
        elif settings.roster_path is None and default_roster is not None:
            parts["roster"] = default_roster()
        else:
            parts["roster"] = roster_from_settings(settings)
    if "model" not in parts:
        parts["model"] = model_from_settings(settings)
    if "router" not in parts:
        parts["router"] = router_from_settings(
            settings, parts["roster"], parts["model"], thresholds or None, overlay
        )
    if "memory" not in parts:
        parts["memory"] = memory_from_settings(settings)
    if "checkpointer" not in parts:
        parts["checkpointer"] = checkpointer_from_settings(settings)
    parts.setdefault("prices", settings.prices)
    parts.setdefault("budget", settings.budget)
    parts.setdefault("out_of_scope", settings.out_of_scope)
    parts.setdefault("data_dir", settings.data_dir)
    parts.setdefault("max_request_bytes", settings.max_request_bytes)
    graph = build(**parts)
    if isinstance(graph, GuardedGraph):
        graph = graph.with_limits(settings.input_limits(parts["max_request_bytes"]))
    return graph


def _improved_setup(settings: NovaSettings) -> Any:
    """The active ``nova improve`` version under the data dir (none with an explicit roster)."""
    if settings.roster_path is not None:
        return None
    from nova_graph.improve.store import improved_setup

    return improved_setup(settings.data_dir)
