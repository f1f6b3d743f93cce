"""The graph state: what the supervisor decided, what each agent returned, what failed."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages


class ToolCallRecord(TypedDict):
    """One tool call an agent made, with its output (or error)."""

    name: str
    args: dict[str, Any]
    output: str
    ok: bool
    latency_ms: NotRequired[float]


class ModelCallRecord(TypedDict):
    """One model call an agent made: the model, tokens in/out, money and latency."""

    model: str
    input_tokens: int
    output_tokens: int
    cost: float
    latency_ms: float


class TurnInfo(TypedDict):
    """The current turn: an id shared by its agents (request budgets) and its wall-clock start."""

    id: str
    started_at: float


class MemoryRef(TypedDict):
    """A memory handed to an agent as context, with its age when it was used."""

    id: str
    text: str
    age_seconds: float


class AgentResult(TypedDict):
    """What one agent produced for its part of the request."""

    agent: str
    request: str
    answer: str
    status: Literal["ok", "failed"]
    tool_calls: list[ToolCallRecord]
    memories: list[MemoryRef]
    model_calls: int
    latency_ms: float
    attempts: int
    model_call_log: NotRequired[list[ModelCallRecord]]
    inputs: NotRequired[list[str]]  # ids of the plan steps whose results this agent was given
    #: The answer comes from the embedded offline model (it ends with ``OFFLINE_NOTICE``).
    offline: NotRequired[bool]
    step: NotRequired[str]  # the plan step this result is for


class ClauseRecord(TypedDict):
    """One clause of a routed request as kept in state (a ``ClauseRoute``'s fields)."""

    text: str
    agent: str | None
    score: float


class DecisionRecord(TypedDict):
    """The routing decision as kept in state: a :class:`~nova_graph.routing.RouteDecision`'s
    fields, with only the best few ``scores`` (see ``supervisor.state_decision``)."""

    agents: list[str]
    scores: dict[str, float]
    ambiguous: bool
    out_of_scope: bool
    clauses: list[ClauseRecord]
    method: str
    model_calls: int
    confidence: float | None
    model_error: str | None


class Failure(TypedDict):
    """An agent (or tool) failure recorded in state instead of being swallowed."""

    agent: str
    error_type: str
    message: str
    attempts: int
    step: NotRequired[str]  # the plan step that failed


class PlanStep(TypedDict):
    """One step of a request's plan: an agent, its part of the request, the steps it waits for."""

    id: str
    agent: str
    request: str
    depends_on: list[str]


class StepStatus(TypedDict):
    """Where a plan step is: ``pending``, ``running``, ``ok``, ``failed`` or ``skipped`` (why)."""

    state: Literal["pending", "running", "ok", "failed", "skipped"]
    reason: str


class StepInput(TypedDict):
    """An upstream step's result handed to a dependent step (shown to its model as quoted data)."""

    step: str
    agent: str
    request: str
    answer: str
    tool_outputs: list[dict[str, str]]


class AgentTask(TypedDict, total=False):
    """The input one agent node receives through ``Send``."""

    agent: str
    request: str
    history: list[dict[str, str]]
    memories: list[MemoryRef]
    turn: TurnInfo
    context: str  # what a follow-up carries from the previous turn
    step: str
    inputs: list[StepInput]
    after: StepAfter  # fast path: what follows when this step succeeds (see plan_dispatch)
    repeat: bool  # its agent runs another step of this plan: keep the result by step id too


class StepAfter(TypedDict):
    """A lone step's continuation: the plan's status once it is done, the tasks it starts."""

    status: dict[str, StepStatus]
    then: list[AgentTask]


def merge_results(
    left: dict[str, AgentResult] | None, right: dict[str, AgentResult] | None
) -> dict[str, AgentResult]:
    """Reducer: merge per-agent results; ``None`` starts a new turn with no results."""
    if right is None:
        return {}
    return {**(left or {}), **right}


def extend_failures(left: list[Failure] | None, right: list[Failure] | None) -> list[Failure]:
    """Reducer: append failures; ``None`` starts a new turn with no failures."""
    if right is None:
        return []
    return [*(left or []), *right]


class NovaState(TypedDict, total=False):
    """State of one Nova conversation thread (LangGraph channels)."""

    messages: Annotated[list[AnyMessage], add_messages]
    request: str
    decision: DecisionRecord
    routes: list[str]
    clarification: dict[str, Any] | None
    carried: dict[str, Any] | None  # a follow-up's CarriedContext
    notice: str | None  # a message instead of an agent (e.g. a follow-up on an empty thread)
    memories: dict[str, list[MemoryRef]]
    results: Annotated[dict[str, AgentResult], merge_results]
    # Results of plan steps whose agent runs several steps of one plan, by step id (``results``
    # holds each agent's latest).
    step_results: Annotated[dict[str, AgentResult], merge_results]
    failures: Annotated[list[Failure], extend_failures]
    routing_model_calls: int
    turn: TurnInfo
    plan: list[PlanStep]
    plan_status: dict[str, StepStatus]
    plan_model_calls: int


class NovaInput(TypedDict):
    """What a caller sends: the new user message(s)."""

    messages: Annotated[list[AnyMessage], add_messages]


def new_turn() -> TurnInfo:
    """A fresh :class:`TurnInfo` starting now."""
    import time
    import uuid

    return TurnInfo(id=uuid.uuid4().hex, started_at=time.time())
