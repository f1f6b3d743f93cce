"""Nova: a 34-agent personal assistant built on nova_graph's public API.

Its roster, data files, demo ERP and pipeline tools, the ``nova`` command and the Studio graphs
live here; the library (``nova_graph``) never imports this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported where used, so ``nova`` prints its first progress line before LangGraph loads.
if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from nova_graph import Roster
    from nova_graph.settings import NovaSettings

#: Nova's roster file: 34 agents, their example requests and out-of-scope examples.
ROSTER_PATH = Path(__file__).parent / "data" / "roster.yaml"


def nova_roster() -> Roster:
    """Nova's 34-agent roster."""
    from nova_graph import load_roster

    return load_roster(ROSTER_PATH)


def build_nova_graph(**kwargs: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The compiled Nova graph: ``build_graph`` with Nova's roster and tools.

    Takes ``build_graph``'s keyword arguments (model, memory, router, checkpointer, data_dir,
    roster, tools, toolsets, ...); Nova's tool sets are always added to any given.
    """
    from nova_app.tools import NOVA_TOOLSETS
    from nova_graph import build_graph

    if kwargs.get("roster") is None:
        kwargs["roster"] = nova_roster()
    kwargs["toolsets"] = [*NOVA_TOOLSETS, *kwargs.get("toolsets", ())]
    return build_graph(**kwargs)


def nova_graph_from_settings(
    settings: NovaSettings | None = None, **overrides: Any
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The Nova graph from ``NOVA_*`` settings (``NOVA_ROSTER_PATH`` or Nova's roster)."""
    from nova_graph.from_settings import graph_from_settings

    return graph_from_settings(
        settings, build=build_nova_graph, default_roster=nova_roster, **overrides
    )


def nova_family_graph(
    family: str, settings: NovaSettings | None = None, **overrides: Any
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A graph of one Nova family's agents only (e.g. ``"erp"``), for Studio; with an active
    improved version, its roster and the family's part of its kept examples."""
    from nova_graph.from_settings import family_roster, model_from_settings, router_from_settings
    from nova_graph.improve.store import improved_setup
    from nova_graph.settings import load_settings

    settings = settings if settings is not None else load_settings()
    roster = overrides.pop("roster", None)
    improved = None
    if roster is None:
        improved = improved_setup(settings.data_dir) if settings.roster_path is None else None
        roster = improved.roster if improved is not None else nova_roster()
    agents = family_roster(family, roster)
    if improved is not None and not improved.overlay.empty and "router" not in overrides:
        overrides.setdefault("model", model_from_settings(settings))
        overrides["router"] = router_from_settings(
            settings,
            agents,
            overrides["model"],
            overlay=improved.overlay.for_agents(agents.names),
        )
    return nova_graph_from_settings(settings, roster=agents, **overrides)


__all__ = [
    "ROSTER_PATH",
    "build_nova_graph",
    "nova_family_graph",
    "nova_graph_from_settings",
    "nova_roster",
]
