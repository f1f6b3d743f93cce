"""Graph integration: per-agent recall before dispatch, and memory tools agents can call.

Namespaces: every read and write made on behalf of a run uses :func:`run_namespace`, the run's
``configurable.user_id`` (else the graph's default namespace), resolved when the call happens, so
one user's memories are never read, superseded or written by another user's run.

Scoping (what an agent is handed): memories written through an agent's ``remember`` tool are
tagged for that agent (``agent`` = its name) and recalled only for it; memories stored through
the memory API without an ``agent``/``family`` tag (the user's or the application's own) are
shared by every agent. So text one agent stored (perhaps copied from an untrusted email or web
page) is never handed to the other agents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from nova_graph.errors import MemoryStoreError
from nova_graph.memory.argument_checks import check_namespace
from nova_graph.memory.model import Memory, utc_now
from nova_graph.memory.prompt import format_memories_for_prompt
from nova_graph.memory.protocol import MemoryStore


def run_namespace(config: Mapping[str, Any] | None, default: str) -> str:
    """The memory namespace of a run: its ``configurable.user_id``, else ``default``.

    An empty ``user_id`` (the LangGraph server's value without auth) means ``default``. A
    ``user_id`` that is not a valid namespace raises :class:`MemoryStoreError`.
    """
    configurable = (config or {}).get("configurable") or {}
    user = configurable.get("user_id")
    return check_namespace(default if user is None or user == "" else user)


def recall_for_agents(
    memory: MemoryStore,
    request: str,
    agents: Sequence[Any],
    *,
    namespace: str,
    now: datetime | None = None,
    clauses: Mapping[str, str] | None = None,
    k: int = 5,
    min_score: float = 0.3,
) -> dict[str, list[Memory]]:
    """What each agent should see before dispatch: ``{agent name: current memories}``.

    ``agents`` are agent names or :class:`~nova_graph.roster.AgentSpec` objects. Each agent gets
    the current memories closest to its clause (``clauses[name]``, e.g. from the route decision,
    else the whole request), restricted to memories tagged for it (metadata ``agent`` = its name
    or ``family`` = its family) or untagged, and at least ``min_score`` similar: an agent never
    sees another agent's tagged memories or unrelated ones.
    """
    when = now if now is not None else utc_now()
    out: dict[str, list[Memory]] = {}
    for agent in agents:
        name = agent if isinstance(agent, str) else agent.name
        family = None if isinstance(agent, str) else getattr(agent.family, "value", agent.family)
        query = (clauses or {}).get(name) or request
        found = memory.recall(query, namespace=namespace, k=k, now=when, agent=name, family=family)
        out[name] = [m for m in found if m.score is None or m.score >= min_score]
    return out


class RememberInput(BaseModel):
    """Arguments of the ``remember`` tool."""

    text: str = Field(description="The fact or decision to remember, one self-contained sentence.")
    key: str | None = Field(
        default=None,
        description="Stable name of the fact (e.g. 'standup_time'); a later memory with the same "
        "key replaces this one.",
    )
    ttl_seconds: float | None = Field(
        default=None, description="Forget after this many seconds (omit for no expiry)."
    )


class RecallInput(BaseModel):
    """Arguments of the ``recall`` tool."""

    query: str = Field(description="What to look up.")
    k: int = Field(default=5, ge=1, le=20, description="How many memories to return.")


def make_memory_tools(
    memory: MemoryStore, namespace: str, agent_name: str, *, private: bool = True
) -> list[BaseTool]:
    """``remember`` and ``recall`` tools for agent ``agent_name``.

    Each call uses the namespace of the run it is part of (:func:`run_namespace`: the run's
    ``configurable.user_id``, else ``namespace``). Memories an agent writes record it as
    ``source_agent``; with ``private=True`` (the default) they are also tagged
    ``agent=agent_name``, so only that agent is handed them (see the module docstring).
    ``recall`` returns current memories only, formatted as quoted data with ages. Bad input comes
    back as an error message the agent can read, never as a half-written memory.
    """
    check_namespace(namespace)

    def remember(
        text: str,
        config: RunnableConfig,
        key: str | None = None,
        ttl_seconds: float | None = None,
    ) -> str:
        meta: dict[str, Any] = {"source_agent": agent_name}
        if private:
            meta["agent"] = agent_name
        try:
            mid = memory.remember(
                text,
                namespace=run_namespace(config, namespace),
                key=key,
                ttl=ttl_seconds,
                metadata=meta,
            )
        except MemoryStoreError as exc:
            return f"error: not remembered: {exc}"
        return f"remembered as {mid}"

    def recall(query: str, config: RunnableConfig, k: int = 5) -> str:
        now = utc_now()
        try:
            found = memory.recall(
                query, namespace=run_namespace(config, namespace), k=k, now=now, agent=agent_name
            )
        except MemoryStoreError as exc:
            return f"error: {exc}"
        return format_memories_for_prompt(found, now) or "no current memories match"

    return [
        StructuredTool.from_function(
            remember,
            name="remember",
            description="Store a fact or decision for later (replaces an older one with the "
            "same key).",
            args_schema=RememberInput,
        ),
        StructuredTool.from_function(
            recall,
            name="recall",
            description="Look up current remembered facts and decisions (stale ones are never "
            "returned).",
            args_schema=RecallInput,
        ),
    ]
