"""What the loop improves: a roster (scopes, example requests) plus router settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import Router
from nova_graph.routing.overlay import Encode, ExampleOverlay, with_overlay

RouterBuilder = Callable[[Roster, Mapping[str, Any]], Router]
"""Builds a router from a roster's examples and the router settings (e.g. thresholds)."""

Calibrator = Callable[[Router, Sequence[LabelledRequest]], dict[str, Any]]
"""Fits router settings (e.g. thresholds) on labelled requests; returns the new settings."""


@dataclass(frozen=True)
class RoutingSetup:
    """A roster, the settings its router is built with, and the example requests kept on top
    of that router (``overlay``: local changes, see :mod:`nova_graph.routing.overlay`): one
    versionable unit."""

    roster: Roster
    settings: dict[str, Any] = field(default_factory=dict)
    overlay: ExampleOverlay = field(default_factory=ExampleOverlay)

    def with_agents(self, agents: Sequence[AgentSpec]) -> RoutingSetup:
        """A copy with the agents replaced (same settings, overlay, out-of-scope examples, MCP
        servers)."""
        return RoutingSetup(self.roster.subset(agents), dict(self.settings), self.overlay)

    def with_settings(self, settings: Mapping[str, Any]) -> RoutingSetup:
        """A copy with new router settings (same roster and overlay)."""
        return RoutingSetup(self.roster, dict(settings), self.overlay)

    def with_overlay(self, overlay: ExampleOverlay) -> RoutingSetup:
        """A copy with another overlay (same roster and settings)."""
        return RoutingSetup(self.roster, dict(self.settings), overlay)

    def examples(self) -> dict[str, list[str]]:
        """Agent -> the example requests routing uses: the roster's, with the overlay's
        changes."""
        return self.overlay.applied_to(self.roster.examples())


@dataclass(frozen=True)
class RouterFactory:
    """How the loop turns a :class:`RoutingSetup` into a router, and recalibrates one.

    ``encode`` encodes the requests of an overlay on a router that is not a
    :class:`~nova_graph.routing.semantic.SemanticRouter` (default: the default encoder).
    """

    build: RouterBuilder
    calibrate: Calibrator | None = None
    encode: Encode | None = None

    def router(self, setup: RoutingSetup) -> Router:
        """The router for ``setup``: built from its roster and settings, with its overlay on
        top."""
        router = self.build(setup.roster, setup.settings)
        if setup.overlay.empty:
            return router
        return with_overlay(
            router,
            setup.overlay,
            examples=setup.roster.examples(),
            out_of_scope=list(setup.roster.out_of_scope),
            encode=self.encode,
        )


def roster_to_yaml(roster: Roster) -> str:
    """The roster as YAML text (the format ``load_roster`` reads): agents, out-of-scope
    examples (the router's refusal negatives) and MCP servers."""
    body: dict[str, Any] = {
        "agents": [spec.model_dump(mode="json", exclude_none=True) for spec in roster]
    }
    if roster.out_of_scope:
        body["out_of_scope"] = list(roster.out_of_scope)
    if roster.mcp_servers:
        body["mcp_servers"] = {
            k: v.model_dump(mode="json", exclude_none=True) for k, v in roster.mcp_servers.items()
        }
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)


def weakened(roster: Roster, examples_per_agent: int) -> Roster:
    """A copy of ``roster`` keeping only the first ``examples_per_agent`` examples per agent."""
    return roster.subset(
        spec.model_copy(update={"examples": list(spec.examples[:examples_per_agent])})
        for spec in roster
    )
