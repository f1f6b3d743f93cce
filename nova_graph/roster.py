"""Agent specifications and the roster: data, validated at the boundary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nova_graph.budget import Budget
from nova_graph.errors import RosterError


class Family(StrEnum):
    """The four agent families."""

    GENERAL = "general"
    PIPELINE = "pipeline"
    ERP = "erp"
    LANGUAGE = "language"


class ContextPolicy(BaseModel):
    """How much of the conversation one agent sees (not the whole thread by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    turns: int = Field(default=1, ge=0, le=20, description="Earlier user requests shown.")
    previous_answer: bool = Field(default=False, description="Show the previous answer too.")
    memories: int = Field(default=5, ge=0, le=50, description="Most memories handed over.")
    max_chars: int = Field(default=4000, ge=0, le=200_000, description="Size budget of all that.")


class AgentSpec(BaseModel):
    """One tightly scoped agent: what it does, how it is prompted, which tools it may call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="Unique node name.")
    family: Family
    description: str = Field(min_length=3, max_length=300, description="One-line scope.")
    examples: list[str] = Field(description="Example requests the router learns from.")
    system_prompt: str = Field(min_length=1)
    tools: list[str] = Field(default_factory=list, description="Names in the tool registry.")
    model: str | None = Field(default=None, description="Model name overriding the default.")
    budget: Budget | None = Field(
        default=None,
        description="This agent's own limits per request (calls, tokens, money, time).",
    )
    context: ContextPolicy = Field(
        default_factory=ContextPolicy, description="What this agent sees of the conversation."
    )

    @field_validator("examples")
    @classmethod
    def _examples_not_empty(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if not cleaned or any(not v for v in cleaned):
            raise ValueError("an agent needs at least one non-empty example request")
        return cleaned


class Roster:
    """An ordered, validated collection of :class:`AgentSpec` keyed by name."""

    def __init__(self, agents: Iterable[AgentSpec], *, known_tools: Iterable[str] | None = None):
        self._agents: dict[str, AgentSpec] = {}
        for spec in agents:
            if spec.name in self._agents:
                raise RosterError(f"duplicate agent name {spec.name!r}: agent names must be unique")
            self._agents[spec.name] = spec
        if not self._agents:
            raise RosterError("a roster needs at least one agent")
        if known_tools is not None:
            known = set(known_tools)
            for spec in self._agents.values():
                unknown = sorted(set(spec.tools) - known)
                if unknown:
                    raise RosterError(
                        f"agent {spec.name!r} names unknown tools {unknown}; "
                        f"register them in nova_graph.tools or fix the roster"
                    )

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def __getitem__(self, name: str) -> AgentSpec:
        try:
            return self._agents[name]
        except KeyError:
            raise RosterError(f"no agent named {name!r} in the roster") from None

    @property
    def names(self) -> list[str]:
        """Agent names in roster order."""
        return list(self._agents)

    def examples(self) -> dict[str, list[str]]:
        """Example requests per agent, the input of ``SemanticRouter.from_examples``."""
        return {a.name: list(a.examples) for a in self}

    def by_family(self, family: Family | str) -> list[AgentSpec]:
        """The agents of one family."""
        fam = Family(family)
        return [a for a in self if a.family is fam]

    @classmethod
    def from_data(cls, data: Any, *, known_tools: Iterable[str] | None = None) -> Roster:
        """Build a roster from parsed data: ``{"agents": [ {...}, ... ]}``."""
        if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
            raise RosterError("a roster file must be a mapping with an 'agents' list")
        specs = []
        for i, raw in enumerate(data["agents"]):
            try:
                specs.append(AgentSpec.model_validate(raw))
            except ValidationError as exc:
                name = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'agent'}: {e['msg']}"
                    for e in exc.errors()
                )
                raise RosterError(f"agent {name!r} in the roster is invalid: {problems}") from None
        return cls(specs, known_tools=known_tools)


def load_roster(path: str | Path | None = None, *, check_tools: bool = True) -> Roster:
    """Load and validate a roster from a YAML file (the packaged default when ``path`` is None)."""
    if path is None:
        text = resources.files("nova_graph.data").joinpath("roster.yaml").read_text("utf-8")
        where = "the packaged roster"
    else:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RosterError(f"cannot read roster file {p}: {exc}") from None
        where = str(p)
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C if built
    except yaml.YAMLError as exc:
        raise RosterError(f"{where} is not valid YAML: {exc}") from None
    known: list[str] | None = None
    if check_tools:
        from nova_graph.tools import tool_names

        known = tool_names()
    return Roster.from_data(data, known_tools=known)
