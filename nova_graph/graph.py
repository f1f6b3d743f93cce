"""``build_graph``: the whole Nova system, one call, every part replaceable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from nova_graph.agents import make_agent_node
from nova_graph.budget import Budget
from nova_graph.checkpoint import default_checkpoint_path, sqlite_checkpointer
from nova_graph.compose import make_compose_node
from nova_graph.errors import InvalidRequestError
from nova_graph.models import default_model, is_offline
from nova_graph.plan_dispatch import NEXT_STEPS_NODE, next_steps
from nova_graph.planning import PlanPolicy
from nova_graph.private import private_dir
from nova_graph.reliability import CircuitBreaker, ReliabilityPolicy, make_error_handler
from nova_graph.reliability.guard import GuardedGraph
from nova_graph.reliability.threadlock import ThreadLocks
from nova_graph.roster import Roster, load_roster
from nova_graph.routing.decision import Router
from nova_graph.state import NovaInput, NovaState
from nova_graph.supervisor import REFUSE_NODE, OutOfScopePolicy, Supervisor
from nova_graph.tools import ToolContext, build_tools, select_tools
from nova_graph.tools.context import default_cache_dir
from nova_graph.tools.effects import EFFECTS_DB, EffectLedger
from nova_graph.tracing import traced_supervisor
from nova_graph.usage import PriceTable
from nova_graph.validation import DEFAULT_MAX_REQUEST_BYTES, InputLimits, check_build_arguments

SUPERVISOR_NODE = "supervisor"
COMPOSE_NODE = "compose"


#: Bump when the way the default router is built or calibrated changes (invalidates caches).
ROUTER_CACHE_FORMAT = "semantic-router-6-sparse-lexical"
#: Every ``_CALIBRATION_FOLD``-th example of an agent is held out to calibrate the router.
_CALIBRATION_FOLD = 4


def default_out_of_scope() -> list[str]:
    """The packaged requests no Nova agent should take (``nova_graph/data/out_of_scope.yaml``)."""
    from importlib import resources

    import yaml

    text = resources.files("nova_graph.data").joinpath("out_of_scope.yaml").read_text("utf-8")
    return [str(t) for t in yaml.safe_load(text)["requests"]]


def default_router(
    roster: Roster,
    *,
    model: BaseChatModel | None = None,
    cache_dir: str | Path | Literal[False] | None = None,
    thresholds: Mapping[str, Any] | None = None,
) -> Router:
    """The calibrated embedding router learned from the roster's example requests.

    This is the one router builder: the graph's default, improved versions (``nova improve``),
    the CLI and the Studio graphs all call it. ``thresholds`` (a router's ``thresholds``, as an
    improved version stores them) pins the settings instead of calibrating: the router is trained
    exactly as the default one and only the roster's examples differ.

    A probe router trained on three quarters of each agent's examples and half the packaged
    out-of-scope requests is calibrated on the rest; the router returned is trained on
    everything and uses the probe's thresholds. It is saved in ``cache_dir`` (default: the user's
    cache, ``default_cache_dir() / "routers"``; ``False`` for no cache) under a key of everything
    that shapes it, so later starts load it instead of re-training. ``model`` (a
    configured chat model, not the offline one) enables the router's language-model fallback.
    """
    from nova_graph.errors import RoutingError
    from nova_graph.models import is_offline
    from nova_graph.routing import SemanticRouter

    arbiter = model if model is not None and not is_offline(model) else None
    examples, negatives = roster.examples(), default_out_of_scope()
    pinned = dict(thresholds) if thresholds else None
    if cache_dir is False:
        return _calibrated_router(examples, negatives, arbiter, pinned)
    if cache_dir is None:
        cache_dir = default_cache_dir() / "routers"
    key: list[Any] = [ROUTER_CACHE_FORMAT, _CALIBRATION_FOLD, examples, negatives]
    if pinned:
        key.append(pinned)
    blob = json.dumps(key, sort_keys=True)
    path = Path(cache_dir) / f"router-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
    if path.exists():
        try:
            return SemanticRouter.load(path, model=arbiter)
        except RoutingError:
            pass  # unreadable or from another version: rebuild and overwrite below
    router = _calibrated_router(examples, negatives, arbiter, pinned)
    private_dir(path.parent)
    router.save(path)
    return router


def _calibrated_router(
    examples: dict[str, list[str]],
    negatives: list[str],
    arbiter: BaseChatModel | None,
    pinned: dict[str, Any] | None = None,
) -> Any:
    """Train on every example, with thresholds calibrated on a probe that did not see some
    (or set to ``pinned``)."""
    from nova_graph.routing import SemanticRouter

    if pinned:
        router = SemanticRouter.from_examples(
            examples, out_of_scope_examples=negatives, model=arbiter
        )
        for name, value in pinned.items():
            setattr(router, name, value)
        return router
    from nova_graph.embeddings import default_encoder

    fold = _CALIBRATION_FOLD
    train = {a: [t for i, t in enumerate(ts) if i % fold != 1] or ts for a, ts in examples.items()}
    held = [(t, a) for a, ts in examples.items() if len(ts) >= 2 for t in ts[1::fold]]
    encoder = default_encoder()
    once = _EncodeOnce(encoder)
    router = SemanticRouter.from_examples(
        examples, out_of_scope_examples=negatives, model=arbiter, encoder=once
    )
    if held:
        probe = SemanticRouter.from_examples(
            train, out_of_scope_examples=negatives[0::2], encoder=once
        )
        report = probe.calibrate(held, negatives[1::2])
        for name, value in probe.thresholds.items():
            setattr(router, name, value)
        router.calibration_report = report
    router.encoder = encoder  # the build's vectors are not kept
    return router


class _EncodeOnce:
    """The encoder for one router build: the probe and its calibration reuse the vectors of the
    examples (a bounded LRU cache re-encodes them on large rosters: 20,000 texts at 1,000 agents).
    """

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.dimension = int(encoder.dimension)
        self._vectors: dict[str, Any] = {}

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            fresh = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            self._vectors.update(zip(missing, fresh, strict=True))
        rows = [self._vectors[t] for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)


def build_graph(
    *,
    roster: Roster | None = None,
    router: Router | None = None,
    memory: Any = None,
    checkpointer: BaseCheckpointSaver[Any] | Literal[False] | None = None,
    model: BaseChatModel | None = None,
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
        roster: the agents (default: the packaged roster).
        router: anything with ``route(text) -> RouteDecision`` (default: a ``SemanticRouter``
            over the roster's example requests).
        memory: a ``ChromaMemory`` (or compatible) for context recall; ``None`` for none.
        checkpointer: where runs are saved (default: SQLite at ``<data_dir>/checkpoints.sqlite``,
            user-only); ``False`` for none, as LangGraph Studio / the LangGraph server supply
            their own.
        model: the chat model every agent uses unless its spec names one (default: from the
            environment, or the embedded offline model).
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
    roster = roster if roster is not None else load_roster()
    if not isinstance(roster, Roster):
        raise InvalidRequestError(
            f"roster must be a nova_graph.Roster, got {type(roster).__name__}; "
            "use nova_graph.load_roster(path)"
        )
    model = model if model is not None else default_model()
    ctx = ToolContext(memory=memory, model=model, memory_namespace=memory_namespace)
    if data_dir is not None:
        ctx.data_dir = Path(data_dir)
    if router is None:
        router = default_router(roster, model=model)
    registry = build_tools(ctx)
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
    builder = StateGraph(NovaState, input_schema=NovaInput)
    builder.add_node(SUPERVISOR_NODE, traced_supervisor(supervisor))
    builder.add_node(REFUSE_NODE, supervisor.refuse)
    builder.add_node(COMPOSE_NODE, make_compose_node(roster))
    builder.add_node(NEXT_STEPS_NODE, next_steps)
    for spec in roster:
        agent_model = model
        if spec.model is not None:
            agent_model = default_model(model_name=spec.model)
        node = make_agent_node(
            spec,
            agent_model,
            [
                *select_tools(registry, spec.tools),
                *_memory_tools(memory, memory_namespace, spec.name),
            ],
            timeout=policy.timeout_seconds,
            breaker=breaker,
            workers=policy.agent_workers,
            prices=prices,
            budget=budget,
            ledger=ledger,
        )
        builder.add_node(
            spec.name,
            node,
            retry_policy=policy.retry_policy(),
            error_handler=make_error_handler(spec.name, breaker, goto=NEXT_STEPS_NODE),
        )
        builder.add_edge(spec.name, NEXT_STEPS_NODE)
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


def _memory_tools(memory: Any, namespace: str, agent: str) -> list[Any]:
    """``remember``/``recall`` tools for one agent when a memory is configured (``namespace`` is
    the default; each call uses its run's ``configurable.user_id`` when set)."""
    if memory is None:
        return []
    from nova_graph.memory import make_memory_tools

    return make_memory_tools(memory, namespace, agent)
