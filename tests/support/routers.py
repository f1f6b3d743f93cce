"""A router that looks decisions up in a table: lets graph tests fix the routing exactly."""

from __future__ import annotations

from nova_graph.routing.decision import RouteDecision


class TableRouter:
    """The ``Router`` protocol from a request → decision table (unknown: out of scope)."""

    def __init__(self, table: dict[str, RouteDecision]) -> None:
        self.table = table
        self.calls: list[str] = []

    def route(self, text: str) -> RouteDecision:
        self.calls.append(text)
        return self.table.get(text, RouteDecision(out_of_scope=True))
