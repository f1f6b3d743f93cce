"""``build_graph``: the whole Nova system, one call, every part replaceable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from nova_graph.agents import make_agent_node
from nova_graph.budget import Budget
from nova_graph.checkpoint import default_checkpoint_path, sqlite_checkpointer
from nova_graph.compose import make_compose_node
from nova_graph.errors import InvalidRequestError, RosterError
from nova_graph.input_checks import DEFAULT_MAX_REQUEST_BYTES, InputLimits, check_build_arguments
from nova_graph.models import default_model, is_offline, resolve_model
from nova_graph.plan_dispatch import COMPOSE_NODE, NEXT_STEPS_NODE, after_step, next_steps
from nova_graph.planning import PlanPolicy
from nova_graph.reliability import CircuitBreaker, ReliabilityPolicy, make_error_handler
from nova_graph.reliability.guard import GuardedGraph
from nova_graph.reliability.threadlock import ThreadLocks
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import Router
from nova_graph.routing.default import default_router
from nova_graph.state import NovaInput, NovaState
from nova_graph.supervisor import REFUSE_NODE, OutOfScopePolicy, Supervisor
from nova_graph.tools import ToolContext, ToolSet
from nova_graph.tools.effects import EFFECTS_DB, EffectLedger
from nova_graph.tools.mcp import agent_mcp_tools
from nova_graph.tools.registry import resolve_tools, tool_registry
from nova_graph.tracing import traced_supervisor
from nova_graph.usage import PriceTable

if TYPE_CHECKING:
    from nova_graph.memory.protocol import MemoryStore

SUPERVISOR_NODE = "supervisor"


def build_graph(
    *,
    roster: Roster | None = None,
    router: Router | None = None,
    memory: MemoryStore | None = None,
    checkpointer: BaseCheckpointSaver[Any] | Literal[False] | None = None,
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] = (),
    toolsets: Sequence[ToolSet] = (),
    agents: Sequence[AgentSpec] = (),
    out_of_scope: OutOfScopePolicy = "refuse",
    data_dir: str | Path | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    reliability: ReliabilityPolicy | None = None,
    circuit_breaker: CircuitBreaker | None = None,
    memory_namespace: str = "default",
    prices: PriceTable | None = None,
    budget: Budget | None = None,
    planning: PlanPolicy | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build and compile the Nova graph.

    Args:
        roster: the agents (a :class:`Roster`, e.g. ``load_roster(path)``); optional when
            ``agents`` are given.
        router: anything with ``route(text) -> RouteDecision`` (default: a ``SemanticRouter``
            over the roster's example requests).
        memory: a :class:`~nova_graph.memory.MemoryStore` (e.g. ``ChromaMemory``) for context
            recall and the agents' remember/recall tools; ``None`` for none.
        checkpointer: where runs are saved (default: SQLite at ``<data_dir>/checkpoints.sqlite``,
            user-only); ``False`` for none, as LangGraph Studio / the LangGraph server supply
            their own.
        model: the chat model every agent uses; an agent's ``model`` name switches its model
            name on this client (default: from the settings, or the embedded offline model).
        tools: your tools (functions or ``BaseTool``s), added to the registry agents name tools
            from; each agent still gets only the tools its spec lists.
        toolsets: functions ``make_tools(ctx) -> list[BaseTool]`` called with the graph's
            :class:`~nova_graph.tools.ToolContext` (data directory, memory, model); their tools
            join the registry.
        agents: more agents (e.g. ``AgentSpec.from_graph(your_graph, ...)``) added to the roster.
        out_of_scope: ``"refuse"`` to answer honestly that no agent covers a request, or
            ``"general"`` to hand it to the first general-family agent.
        data_dir: where tools keep their data (default: the user's nova_graph data directory).
        max_request_bytes: the largest request accepted.
        reliability: per-agent time limit, retries of transient errors and circuit-breaker
            settings (default: ``ReliabilityPolicy()``).
        circuit_breaker: share one breaker between graphs (default: a new one from
            ``reliability``).
        memory_namespace: the memory namespace recalled and written (a run's
            ``configurable.user_id`` overrides it for recall).
        prices: price per model (``{"gpt-4o": ModelPrice(...)}``) to put money on tokens.
        budget: limits per request (model calls, tokens, money, wall time); agents' own
            limits come from their specs' ``budget``.
        memory_namespace: the memory namespace of runs without a ``configurable.user_id``; a
            run's ``user_id`` is its namespace for every memory read and write (supervisor
            recall, the agents' ``remember``/``recall`` tools, ``recall_decisions``).
        planning: plan limits (max steps and depth); ``PlanPolicy(enabled=False)`` runs every
            routed agent at once with no dependencies, as before plans existed.
    """
    check_build_arguments(
        router=router,
        model=model,
        checkpointer=checkpointer,
        data_dir=data_dir,
        max_request_bytes=max_request_bytes,
        reliability=reliability,
        circuit_breaker=circuit_breaker,
    )
    policy = reliability if reliability is not None else ReliabilityPolicy()
    breaker = circuit_breaker or CircuitBreaker(
        threshold=policy.breaker_threshold, cooldown_seconds=policy.breaker_cooldown_seconds
    )
    if out_of_scope not in ("refuse", "general"):
        raise InvalidRequestError(
            f"out_of_scope must be 'refuse' or 'general', got {out_of_scope!r}"
        )
    if roster is None and not agents:
        raise RosterError(
            "build_graph needs agents: pass roster=load_roster('roster.yaml') or agents=[...]"
        )
    if roster is None:
        roster, agents = Roster(agents), ()
    if not isinstance(roster, Roster):
        raise InvalidRequestError(
            f"roster must be a nova_graph.Roster, got {type(roster).__name__}; "
            "use nova_graph.load_roster(path)"
        )
    if agents:
        roster = roster.with_agents(agents)
    model = model if model is not None else default_model()
    ctx = ToolContext(memory=memory, model=model, memory_namespace=memory_namespace)
    if data_dir is not None:
        ctx.data_dir = Path(data_dir)
    if router is None:
        router = default_router(roster, model=model)
    registry = tool_registry([*tools, *(t for make in toolsets for t in make(ctx))])
    ledger = EffectLedger(ctx.data_dir / EFFECTS_DB)

    supervisor = Supervisor(
        roster,
        router,
        memory=memory,
        out_of_scope=out_of_scope,
        max_request_bytes=max_request_bytes,
        memory_namespace=memory_namespace,
        planning=planning,
        plan_model=None if is_offline(model) else model,
    )
    from_mcp = agent_mcp_tools(roster, roster.mcp_servers)
    builder = StateGraph(NovaState, input_schema=NovaInput)
    builder.add_node(SUPERVISOR_NODE, traced_supervisor(supervisor))
    builder.add_node(REFUSE_NODE, supervisor.refuse)
    builder.add_node(COMPOSE_NODE, make_compose_node(roster))
    builder.add_node(NEXT_STEPS_NODE, next_steps)
    for spec in roster:
        agent_tools: list[BaseTool] = []
        if spec.graph is None:
            agent_tools = [
                *resolve_tools(spec.name, spec.tools, registry),
                *from_mcp[spec.name],
                *_memory_tools(memory, memory_namespace, spec.name),
            ]
        node = make_agent_node(
            spec,
            resolve_model(spec.model, model),
            agent_tools,
            timeout=policy.timeout_seconds,
            breaker=breaker,
            workers=policy.agent_workers,
            prices=prices,
            budget=budget,
            ledger=ledger,
            then=after_step,  # continues its plan: next steps, next_steps or compose
        )
        builder.add_node(
            spec.name,
            node,
            retry_policy=policy.retry_policy(),
            error_handler=make_error_handler(spec.name, breaker, goto=NEXT_STEPS_NODE),
            destinations=(NEXT_STEPS_NODE, COMPOSE_NODE),
        )
    builder.add_edge(START, SUPERVISOR_NODE)
    builder.add_conditional_edges(
        SUPERVISOR_NODE, supervisor.dispatch, [*roster.names, REFUSE_NODE]
    )
    builder.add_conditional_edges(
        NEXT_STEPS_NODE,
        lambda state: supervisor.plan_sends(state) or COMPOSE_NODE,
        [*roster.names, COMPOSE_NODE],
    )
    builder.add_edge(REFUSE_NODE, END)
    builder.add_edge(COMPOSE_NODE, END)
    saver: BaseCheckpointSaver[Any] | None
    if checkpointer is False:
        saver = None
    else:
        saver = (
            checkpointer
            if checkpointer is not None
            else sqlite_checkpointer(default_checkpoint_path(data_dir))
        )
    compiled = builder.compile(checkpointer=saver, name="nova")
    locks = None
    if saver is not None:
        locks = ThreadLocks.for_checkpointer(saver, wait_seconds=policy.thread_wait_seconds)
    limits = InputLimits(request_bytes=max_request_bytes)
    return GuardedGraph.from_compiled(compiled, limits, thread_locks=locks)


def _memory_tools(memory: MemoryStore | None, namespace: str, agent: str) -> list[Any]:
    """``remember``/``recall`` tools for one agent when a memory is configured (``namespace`` is
    the default; each call uses its run's ``configurable.user_id`` when set)."""
    if memory is None:
        return []
    from nova_graph.memory import make_memory_tools

    return make_memory_tools(memory, namespace, agent)
