"""Agent specifications and the roster: data, validated at the boundary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from langchain_core.tools import BaseTool
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from nova_graph.budget import Budget
from nova_graph.errors import RosterError

#: A family is any short lowercase name the roster chooses (Nova's are general, erp, ...).
FAMILY_PATTERN = r"^[a-z][a-z0-9_-]{0,47}$"

ToolRef = Annotated[
    str | BaseTool | Callable[..., Any],
    WithJsonSchema(
        {
            "type": "string",
            "description": "A tool name from the registry, or an import path 'package.module:attr'",
        }
    ),
]
"""One tool of an agent: a registry name, an import path, a ``BaseTool`` or a plain function."""


class ContextPolicy(BaseModel):
    """How much of the conversation one agent sees (not the whole thread by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    turns: int = Field(default=1, ge=0, le=20, description="Earlier user requests shown.")
    previous_answer: bool = Field(default=False, description="Show the previous answer too.")
    memories: int = Field(default=5, ge=0, le=50, description="Most memories handed over.")
    max_chars: int = Field(default=4000, ge=0, le=200_000, description="Size budget of all that.")


class McpServer(BaseModel):
    """An MCP server the roster's agents may use: a stdio command or a streamable HTTP URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str | None = Field(default=None, description="Program started over stdio.")
    args: list[str] = Field(default_factory=list, description="Arguments of the stdio command.")
    env: dict[str, str] | None = Field(default=None, description="Environment of the command.")
    url: str | None = Field(default=None, description="Streamable HTTP endpoint, e.g. .../mcp.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Start-up and call limit.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("an MCP server needs exactly one of 'command' (stdio) or 'url' (http)")
        return self

    @property
    def transport(self) -> Literal["stdio", "streamable_http"]:
        """How the server is reached."""
        return "stdio" if self.command is not None else "streamable_http"


class AgentSpec(BaseModel):
    """One tightly scoped agent: what it does, how it is prompted, which tools it may call.

    An agent is either a tool-calling loop (``system_prompt`` + ``tools`` + ``mcp_tools``) or
    your own LangGraph graph / Runnable (``graph``) that takes and returns ``{"messages": [...]}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="Unique node name.")
    family: str = Field(pattern=FAMILY_PATTERN, description="Any family name the roster uses.")
    description: str = Field(min_length=3, max_length=300, description="One-line scope.")
    examples: list[str] = Field(description="Example requests the router learns from.")
    system_prompt: str = Field(default="", description="Instructions of a tool-calling agent.")
    tools: list[ToolRef] = Field(
        default_factory=list,
        description="Registry names or import paths 'package.module:attr' of its tools.",
    )
    mcp_tools: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per MCP server (a key of the roster's mcp_servers), the tools it may use.",
    )
    graph: Annotated[
        Any,
        WithJsonSchema(
            {"type": "string", "description": "Import path 'package.module:attr' of a graph"}
        ),
    ] = Field(default=None, description="Your own compiled graph or Runnable run as this agent.")
    model: Annotated[
        Any, WithJsonSchema({"type": "string", "description": "A model name or provider:model"})
    ] = Field(default=None, description="A model name, 'provider:model' or chat model object.")
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

    @model_validator(mode="after")
    def _prompt_or_graph(self) -> AgentSpec:
        if self.graph is None and not self.system_prompt.strip():
            raise ValueError("system_prompt: a tool-calling agent needs a system_prompt")
        if self.graph is not None and (self.tools or self.mcp_tools or self.model is not None):
            raise ValueError(
                "graph: an agent that is your own graph brings its own model and tools; "
                "remove tools, mcp_tools and model"
            )
        return self

    @classmethod
    def from_graph(
        cls,
        graph: Any,
        *,
        description: str,
        examples: list[str],
        family: str = "general",
        name: str | None = None,
    ) -> AgentSpec:
        """An agent that runs your own compiled graph (or Runnable), named ``name`` or its name."""
        name = name or getattr(graph, "name", None)
        if not name or name == "LangGraph":
            raise RosterError(
                "this graph has no name of its own; compile it with "
                "builder.compile(name='my_agent') or pass AgentSpec.from_graph(..., name=...)"
            )
        return _validated(
            {
                "name": name,
                "family": family,
                "description": description,
                "examples": examples,
                "graph": graph,
            },
            where=repr(name),
        )


def _validated(raw: Any, *, where: str) -> AgentSpec:
    """``AgentSpec.model_validate(raw)``, with a :class:`RosterError` naming the agent."""
    try:
        return AgentSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'agent'}: {e['msg']}" for e in exc.errors()
        )
        raise RosterError(f"agent {where} in the roster is invalid: {problems}") from None


class RosterFile(BaseModel):
    """The roster file format (YAML): its agents, out-of-scope examples and MCP servers."""

    model_config = ConfigDict(extra="forbid")

    agents: list[AgentSpec] = Field(description="The agents, in routing order.")
    out_of_scope: list[str] = Field(
        default_factory=list,
        description="Requests no agent should take; the router calibrates its refusals on them.",
    )
    mcp_servers: dict[str, McpServer] = Field(
        default_factory=dict, description="MCP servers by name, used through agents' mcp_tools."
    )


class Roster:
    """An ordered, validated collection of :class:`AgentSpec` keyed by name, with the roster's
    out-of-scope examples and MCP servers."""

    def __init__(
        self,
        agents: Iterable[AgentSpec],
        *,
        known_tools: Iterable[str] | None = None,
        out_of_scope: Iterable[str] = (),
        mcp_servers: dict[str, McpServer] | None = None,
    ):
        self._agents: dict[str, AgentSpec] = {}
        for spec in agents:
            if spec.name in self._agents:
                raise RosterError(f"duplicate agent name {spec.name!r}: agent names must be unique")
            self._agents[spec.name] = spec
        if not self._agents:
            raise RosterError("a roster needs at least one agent")
        self.out_of_scope: list[str] = [t.strip() for t in out_of_scope if t.strip()]
        self.mcp_servers: dict[str, McpServer] = dict(mcp_servers or {})
        for spec in self._agents.values():
            missing = sorted(set(spec.mcp_tools) - set(self.mcp_servers))
            if missing:
                raise RosterError(
                    f"agent {spec.name!r} uses MCP servers {missing} the roster does not declare; "
                    "add them under mcp_servers"
                )
        if known_tools is not None:
            known = set(known_tools)
            for spec in self._agents.values():
                names = {t for t in spec.tools if isinstance(t, str) and ":" not in t}
                unknown = sorted(names - known)
                if unknown:
                    raise RosterError(
                        f"agent {spec.name!r} names unknown tools {unknown}; pass them to "
                        "build_graph(tools=[...]), use an import path 'package.module:attr', "
                        "or fix the roster"
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

    def by_family(self, family: str) -> list[AgentSpec]:
        """The agents of one family."""
        return [a for a in self if a.family == family]

    @property
    def families(self) -> list[str]:
        """The roster's family names, sorted."""
        return sorted({a.family for a in self})

    def subset(self, agents: Iterable[AgentSpec]) -> Roster:
        """A roster of ``agents`` keeping this roster's out-of-scope examples and MCP servers."""
        return Roster(agents, out_of_scope=self.out_of_scope, mcp_servers=self.mcp_servers)

    def with_agents(self, agents: Iterable[AgentSpec]) -> Roster:
        """This roster plus ``agents`` (appended in order)."""
        return self.subset([*self, *agents])

    @classmethod
    def from_data(cls, data: Any, *, known_tools: Iterable[str] | None = None) -> Roster:
        """Build a roster from parsed data (the :class:`RosterFile` format)."""
        if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
            raise RosterError("a roster file must be a mapping with an 'agents' list")
        specs = []
        for i, raw in enumerate(data["agents"]):
            name = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
            specs.append(_validated(raw, where=repr(name)))
        try:
            rest = RosterFile.model_validate({**data, "agents": []})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise RosterError(f"the roster is invalid: {problems}") from None
        return cls(
            specs,
            known_tools=known_tools,
            out_of_scope=rest.out_of_scope,
            mcp_servers=rest.mcp_servers,
        )


def load_roster(path: str | Path, *, known_tools: Iterable[str] | None = None) -> Roster:
    """Load and validate a roster from a YAML file (the :class:`RosterFile` format).

    Tool names are checked against ``known_tools`` when given; otherwise ``build_graph`` checks
    them against its tool registry.
    """
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
    return Roster.from_data(data, known_tools=known_tools)
