"""What the loop improves: a roster (scopes, example requests) plus router settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import Router

RouterBuilder = Callable[[Roster, Mapping[str, Any]], Router]
"""Builds a router from a roster's examples and the router settings (e.g. thresholds)."""

Calibrator = Callable[[Router, Sequence[LabelledRequest]], dict[str, Any]]
"""Fits router settings (e.g. thresholds) on labelled requests; returns the new settings."""


@dataclass(frozen=True)
class RoutingSetup:
    """A roster plus the settings its router is built with: one versionable unit."""

    roster: Roster
    settings: dict[str, Any] = field(default_factory=dict)

    def with_agents(self, agents: Sequence[AgentSpec]) -> RoutingSetup:
        """A copy with the agents replaced (same settings, out-of-scope examples, MCP servers)."""
        return RoutingSetup(self.roster.subset(agents), dict(self.settings))

    def with_settings(self, settings: Mapping[str, Any]) -> RoutingSetup:
        """A copy with new router settings (same roster)."""
        return RoutingSetup(self.roster, dict(settings))


@dataclass(frozen=True)
class RouterFactory:
    """How the loop turns a :class:`RoutingSetup` into a router, and recalibrates one."""

    build: RouterBuilder
    calibrate: Calibrator | None = None

    def router(self, setup: RoutingSetup) -> Router:
        """The router for ``setup``."""
        return self.build(setup.roster, setup.settings)


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
