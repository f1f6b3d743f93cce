"""nova_graph: orchestrate a personal multi-agent AI system on LangGraph."""

from nova_graph.errors import (
    AgentFailure,
    InvalidRequestError,
    MemoryStoreError,
    ModelConfigError,
    NovaError,
    RosterError,
    RoutingError,
    ToolError,
)
from nova_graph.graph import build_graph
from nova_graph.roster import AgentSpec, Family, Roster, load_roster
from nova_graph.routing.decision import RouteDecision, Router

__all__ = [
    "AgentFailure",
    "AgentSpec",
    "Family",
    "InvalidRequestError",
    "MemoryStoreError",
    "ModelConfigError",
    "NovaError",
    "Roster",
    "RosterError",
    "RouteDecision",
    "Router",
    "RoutingError",
    "ToolError",
    "build_graph",
    "load_roster",
]

__version__ = "0.1.0"
