"""nova_graph: orchestrate a personal multi-agent AI system on LangGraph.

The public names load on first use (PEP 562 ``__getattr__``), so ``import nova_graph.errors``
or a command's first progress line does not wait for LangGraph to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nova_graph.errors import (
        AgentFailure,
        InvalidRequestError,
        McpServerError,
        MemoryStoreError,
        ModelConfigError,
        NovaError,
        RosterError,
        RoutingError,
        ToolError,
    )
    from nova_graph.graph import build_graph
    from nova_graph.roster import AgentSpec, McpServer, Roster, RosterFile, load_roster
    from nova_graph.routing.decision import RouteDecision, Router

#: Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "AgentFailure": "nova_graph.errors",
    "InvalidRequestError": "nova_graph.errors",
    "McpServerError": "nova_graph.errors",
    "MemoryStoreError": "nova_graph.errors",
    "ModelConfigError": "nova_graph.errors",
    "NovaError": "nova_graph.errors",
    "RosterError": "nova_graph.errors",
    "RoutingError": "nova_graph.errors",
    "ToolError": "nova_graph.errors",
    "build_graph": "nova_graph.graph",
    "AgentSpec": "nova_graph.roster",
    "McpServer": "nova_graph.roster",
    "Roster": "nova_graph.roster",
    "RosterFile": "nova_graph.roster",
    "load_roster": "nova_graph.roster",
    "RouteDecision": "nova_graph.routing.decision",
    "Router": "nova_graph.routing.decision",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nova_graph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "AgentFailure",
    "AgentSpec",
    "InvalidRequestError",
    "McpServer",
    "McpServerError",
    "MemoryStoreError",
    "ModelConfigError",
    "NovaError",
    "Roster",
    "RosterError",
    "RosterFile",
    "RouteDecision",
    "Router",
    "RoutingError",
    "ToolError",
    "build_graph",
    "load_roster",
]

__version__ = "0.1.0"
