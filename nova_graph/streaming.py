"""Streaming a run: each node's state update as it finishes and model tokens as they arrive.

``stream_run`` / ``astream_run`` wrap ``graph.stream(..., stream_mode=["updates", "messages"])``
and yield :class:`StreamEvent` objects, so callers need not know LangGraph's chunk shapes.
``astream_run`` needs a checkpointer with async methods (the in-memory saver,
``AsyncPostgresSaver``, ``AsyncSqliteSaver``, or the LangGraph server's own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt, StreamMode

from nova_graph.errors import InvalidRequestError
from nova_graph.graph import COMPOSE_NODE
from nova_graph.plan_dispatch import describe_plan, describe_status
from nova_graph.supervisor import REFUSE_NODE

EventKind = Literal["update", "token", "interrupt"]
INTERRUPT_KEY = "__interrupt__"
# Nodes that write messages without a model: their text arrives as an update, not as tokens.
NON_MODEL_NODES = frozenset({COMPOSE_NODE, REFUSE_NODE})


@dataclass(frozen=True)
class StreamEvent:
    """One thing that happened during a run.

    ``update``: ``node`` finished and wrote ``data`` (its state update, a dict).
    ``token``: a model inside ``node`` produced the text ``data`` (a chunk or a whole message).
    ``interrupt``: the run paused; ``data`` is the interrupt payload (e.g. a clarifying question)
    and ``interrupt_id`` the id to answer it by (several can be pending at once).
    """

    kind: EventKind
    node: str
    data: Any
    interrupt_id: str | None = None


def _stream_modes(tokens: bool) -> list[StreamMode]:
    return ["updates", "messages"] if tokens else ["updates"]


def stream_run(
    graph: Pregel[Any, Any, Any, Any],
    payload: Any,
    config: RunnableConfig | None = None,
    *,
    tokens: bool = True,
) -> Iterator[StreamEvent]:
    """Run ``graph`` on ``payload`` (input or ``Command``), yielding events as they happen."""
    stream = graph.stream(payload, config, stream_mode=_stream_modes(tokens), subgraphs=tokens)
    for item in stream:
        yield from to_events(*_unpack(item))


async def astream_run(
    graph: Pregel[Any, Any, Any, Any],
    payload: Any,
    config: RunnableConfig | None = None,
    *,
    tokens: bool = True,
) -> AsyncIterator[StreamEvent]:
    """Async :func:`stream_run`."""
    stream = graph.astream(payload, config, stream_mode=_stream_modes(tokens), subgraphs=tokens)
    async for item in stream:
        for event in to_events(*_unpack(item)):
            yield event


def _unpack(item: Any) -> tuple[str, Any, tuple[str, ...]]:
    """``(mode, chunk)`` or, with subgraphs, ``(namespace, mode, chunk)`` → mode, chunk, ns."""
    if len(item) == 3:
        return item[1], item[2], tuple(item[0])
    return item[0], item[1], ()


def to_events(mode: str, chunk: Any, namespace: tuple[str, ...] = ()) -> Iterable[StreamEvent]:
    """Translate one chunk of a multi-mode LangGraph stream into events.

    Updates are reported for the Nova graph's own nodes only (``namespace`` empty), not for the
    steps inside each agent's tool loop; tokens are reported from wherever a model runs.
    """
    if mode == "updates" and isinstance(chunk, dict) and not namespace:
        for node, update in chunk.items():
            if node == INTERRUPT_KEY:
                for item in update:
                    value, iid = getattr(item, "value", item), getattr(item, "id", None)
                    yield StreamEvent("interrupt", INTERRUPT_KEY, value, iid)
            else:
                yield StreamEvent("update", node, update)
    elif mode == "messages":
        message, metadata = chunk
        node = token_source(metadata)
        text = _token_text(message)
        if text and node not in NON_MODEL_NODES:
            yield StreamEvent("token", node, text)


def pending_interrupts(
    graph: Pregel[Any, Any, Any, Any], config: RunnableConfig
) -> list[Interrupt]:
    """Every question the thread of ``config`` is waiting on (approvals, clarifications)."""
    return list(graph.get_state(config).interrupts)


def resume_command(pending: Sequence[Interrupt], answers: Sequence[str]) -> Command[Any]:
    """The ``Command`` answering ``pending`` together: one plain answer answers them all; or
    ``ID=ANSWER`` per question (``ID`` may be a unique prefix), and then each needs one.

    Raises :class:`InvalidRequestError` saying what to send when the answers do not match.
    """
    ids = [p.id for p in pending]
    if not ids:
        raise InvalidRequestError(
            "nothing is waiting for an answer on this thread; send a new request instead"
        )
    if not answers:
        raise InvalidRequestError(f"give an answer for the pending questions {ids}")
    keyed = [a.partition("=") for a in answers]
    if len(answers) == 1 and not (keyed[0][1] and _matches(keyed[0][0], ids)):
        return Command(resume=dict.fromkeys(ids, answers[0]))
    resume: dict[str, str] = {}
    for prefix, sep, value in keyed:
        hits = _matches(prefix, ids) if sep else []
        if len(hits) != 1:
            raise InvalidRequestError(
                f"{prefix!r} names no single pending question; answer each as ID=ANSWER with "
                f"an id from {ids}, or give one plain answer for all"
            )
        resume[hits[0]] = value
    missing = [i for i in ids if i not in resume]
    if missing:
        raise InvalidRequestError(
            f"no answer for the pending questions {missing}; answer each as ID=ANSWER, or give "
            "one plain answer for all"
        )
    return Command(resume=resume)


def _matches(prefix: str, ids: Sequence[str]) -> list[str]:
    prefix = prefix.strip()
    return [i for i in ids if prefix and i.startswith(prefix)] if len(prefix) >= 4 else []


def token_source(metadata: dict[str, Any]) -> str:
    """The Nova node a token came from: the outer graph node, not the agent loop's inner node."""
    namespace = str(metadata.get("langgraph_checkpoint_ns") or "")
    if namespace:
        return namespace.split("|", 1)[0].split(":", 1)[0]
    return str(metadata.get("langgraph_node") or "?")


def _token_text(message: BaseMessage) -> str:
    """The text of an AI message or chunk; tool and user messages are not tokens."""
    if isinstance(message, ToolMessage) or message.type not in ("ai", "AIMessageChunk"):
        return ""
    return message.text if isinstance(message.text, str) else str(message.content)


def format_routes(decision: dict[str, Any], routes: list[str]) -> str:
    """``agent (score), ...``: a split request shows each agent's own clause score."""
    scores = dict(decision.get("scores") or {})
    if len(routes) > 1:
        for clause in decision.get("clauses") or []:
            if clause.get("agent") in routes:
                scores[clause["agent"]] = clause["score"]
    return ", ".join(f"{r} ({scores[r]:.2f})" if r in scores else r for r in routes)


def describe_update(node: str, update: Any) -> str:
    """A one-line, human-readable summary of a node's state update."""
    if not isinstance(update, dict):
        return f"{node}: done"
    if "routes" in update:
        shown = format_routes(update.get("decision") or {}, update.get("routes") or [])
        recalled = _memory_ids(update.get("memories"))
        extra = f"; {len(recalled)} memories" if recalled else ""
        plan = update.get("plan") or []
        dependent = any(step["depends_on"] for step in plan)  # else the routes say it all
        status = update.get("plan_status") or {}
        steps = f"; plan: {describe_plan(plan, status)}" if dependent else ""
        return f"{node}: route → {shown or '(none: out of scope)'}{extra}{steps}"
    results = update.get("results") or {}
    if "plan_status" in update and not results:
        return f"{node}: " + describe_status(update["plan_status"])
    if results:
        parts = []
        repeat = bool(update.get("step_results"))  # an agent running several plan steps
        for name, r in results.items():
            label = f"{r['step']} {name}" if repeat and "step" in r else name
            tools = ", ".join(t["name"] for t in r.get("tool_calls", [])) or "no tools"
            tool_failed = any(not t.get("ok", True) for t in r.get("tool_calls", []))
            status = "FAILED (tool error)" if tool_failed else r.get("status", "?")
            parts.append(f"{label} {status} ({tools}; {r.get('latency_ms', 0):.0f} ms)")
        if "plan_status" in update:  # a plan step that continued its plan itself
            parts.append("plan: " + describe_status(update["plan_status"]))
        return f"{node}: " + "; ".join(parts)
    failures = update.get("failures") or []
    if failures:
        return f"{node}: FAILED " + "; ".join(f"{f['agent']} {f['error_type']}" for f in failures)
    if update.get("messages"):
        return f"{node}: answer ready"
    return f"{node}: done"


def _memory_ids(memories: Any) -> set[str]:
    """Ids of recalled memories: a list of refs, or ``{agent: [refs]}`` per routed agent."""
    if isinstance(memories, dict):
        return {m["id"] for refs in memories.values() for m in refs}
    return {m["id"] for m in memories or []}
