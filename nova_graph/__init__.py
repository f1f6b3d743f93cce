"""nova_graph: orchestrate a personal multi-agent AI system on LangGraph."""

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
