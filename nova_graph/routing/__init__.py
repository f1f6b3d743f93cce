"""Routing: decide which agents handle a request (embedding router with a model fallback)."""

from nova_graph.routing.arbiter import ModelRouteArbiter, RouteChoice
from nova_graph.routing.decision import ClauseRoute, RouteDecision, Router
from nova_graph.routing.overlay import ExampleOverlay, OverlayRouter
from nova_graph.routing.semantic import SemanticRouter

__all__ = [
    "ClauseRoute",
    "ExampleOverlay",
    "ModelRouteArbiter",
    "OverlayRouter",
    "RouteChoice",
    "RouteDecision",
    "Router",
    "SemanticRouter",
]
