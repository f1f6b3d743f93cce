"""Human approval for every tool that changes data or the outside world, in one place.

A tool declares that it writes in its metadata (``side_effect="write"``, set by :func:`writes`);
:func:`gate_tools`, applied where agent tools are assembled, wraps each such tool so that a call

1. returns the recorded outcome when the side-effect ledger already knows the call (a retry,
   timeout-retry or resume never asks again and never acts twice; a rejection stays rejected);
2. otherwise pauses the graph with ``interrupt`` for approval, records a rejection, or claims
   the call in the ledger, runs the tool and records its result.

User tools opt in the same way: ``writes(my_tool)`` before handing it to an agent.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langgraph.errors import GraphBubbleUp
from langgraph.types import interrupt

from nova_graph.errors import ToolError
from nova_graph.tools.effects import Effect, EffectAlreadyApplied, EffectLedger, call_key

SIDE_EFFECT = "side_effect"
"""Metadata key declaring what a tool does to the world; ``"write"`` means it needs approval."""
WRITE = "write"
ACTION = "approval_action"
"""Metadata key: a ``str.format`` template of the tool's arguments describing the change."""
ATOMIC = "effect_atomic"
"""Metadata key: True when the tool records its call key in the same transaction as its effect
(see :func:`approved_call`), so a dead process's unfinished claim can safely be run again."""
_GATED = "approval_gated"
WAIT_SECONDS = 5.0
"""How long a repeated call waits for the first (still running) call to finish."""

_YES = frozenset({"y", "yes", "approve", "approved", "ok", "true", "confirm", "go"})


def is_approval(answer: Any) -> bool:
    """True when a resume value approves: ``True``, ``"yes"``, ``{"approved": True}``."""
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str):
        return answer.strip().lower() in _YES
    if isinstance(answer, dict):
        return answer.get("approved") is True
    return False


def request_approval(action: str, change: dict[str, Any]) -> bool:
    """Pause for a human to approve ``change``; True only when the resume value approves.

    Must run inside a graph with a checkpointer (LangGraph ``interrupt``); outside one it raises
    :class:`ToolError` instead of changing anything unapproved.
    """
    payload = {
        "type": "approval",
        "action": action,
        "change": change,
        "question": f"Approve: {action}? Resume with True (or {{'approved': true}}) to apply.",
    }
    try:
        answer = interrupt(payload)
    except GraphBubbleUp:
        raise
    except (RuntimeError, KeyError) as exc:  # no graph / no checkpointer around the tool
        raise ToolError(
            f"{action} changes data and needs human approval: run this tool inside a graph "
            f"with a checkpointer so it can pause for approval ({exc})"
        ) from None
    return is_approval(answer)


def rejected(action: str) -> str:
    """The message a write tool returns when the human rejects the change."""
    return f"Not applied: the change ({action}) was rejected, so nothing was changed."


def writes(tool: BaseTool, *, action: str | None = None, atomic: bool = False) -> BaseTool:
    """Declare that ``tool`` changes data or the outside world (so it needs approval).

    ``action``: a template of the arguments shown in the approval question, e.g.
    ``"mark invoice {invoice_number} as paid"``; ``atomic``: see :data:`ATOMIC`.
    """
    meta = dict(tool.metadata or {})
    meta[SIDE_EFFECT] = WRITE
    if action is not None:
        meta[ACTION] = action
    if atomic:
        meta[ATOMIC] = True
    tool.metadata = meta
    return tool


def needs_approval(tool: BaseTool) -> bool:
    """True when ``tool``'s metadata declares that it writes."""
    return (tool.metadata or {}).get(SIDE_EFFECT) == WRITE


@dataclass(frozen=True)
class ApprovedCall:
    """The approved tool call running now: its idempotency key and the approved action."""

    key: str
    action: str


_CURRENT: contextvars.ContextVar[ApprovedCall | None] = contextvars.ContextVar(
    "nova_approved_call", default=None
)


def approved_call(action: str) -> ApprovedCall:
    """The approved call a write is part of; :class:`ToolError` when none (not gated/approved).

    Tools that record their effect transactionally store its ``key`` in that transaction.
    """
    call = _CURRENT.get()
    if call is None:
        raise ToolError(
            f"{action} changes data and needs human approval: give the tool to an agent (its "
            "approval gate pauses the graph for a yes) instead of calling it directly"
        )
    return call


def describe(tool: BaseTool, args: dict[str, Any]) -> str:
    """The human description of calling ``tool`` with ``args``, for the approval question."""
    template = (tool.metadata or {}).get(ACTION)
    if isinstance(template, str):
        try:
            return template.format(**args)
        except (KeyError, IndexError, ValueError):
            pass
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"{tool.name}({shown})"


def gate_tools(tools: Iterable[BaseTool], ledger: EffectLedger) -> list[BaseTool]:
    """``tools`` with every write tool behind the approval gate and the ledger (others as is)."""
    return [gate(t, ledger) if needs_approval(t) else t for t in tools]


def gate(tool: BaseTool, ledger: EffectLedger) -> BaseTool:
    """``tool`` behind approval and the idempotency ledger (returned as is if already gated)."""
    meta = dict(tool.metadata or {})
    if meta.get(_GATED):
        return tool
    atomic = bool(meta.get(ATOMIC))

    def settled(effect: Effect | None, action: str) -> str | None:
        """The answer for a call the ledger already knows; None when it must (re)run."""
        if effect is None:
            return None
        if effect.status == "running" and effect.owner_alive():
            effect = ledger.wait(effect.key, WAIT_SECONDS) or effect
        if effect.status == "applied":
            return effect.result or f"Done earlier: {action}."
        if effect.status == "rejected":
            return rejected(action)
        if effect.owner_alive():
            return (
                f"{action}: already started by an earlier attempt and still running; it was not "
                "started again. Check its outcome later instead of repeating it."
            )
        if atomic and ledger.take_over(effect):
            return None  # the tool's own transaction tells whether it was applied
        return (
            f"{action}: an earlier attempt started this and stopped before recording its "
            "outcome; it was not run again. Check whether it took effect before asking again."
        )

    pairs = tool.response_format == "content_and_artifact"

    def out(text: str, artifact: Any = None) -> Any:
        """The result in ``tool``'s own format (a failure artifact passes through)."""
        return (text, artifact) if pairs else text

    def run(**args: Any) -> Any:
        action = describe(tool, args)
        key = call_key(tool.name, args)
        if key is None:
            raise ToolError(
                f"{action} changes data and needs human approval: run it inside a graph with a "
                "checkpointer and a thread_id so it can pause for approval"
            )
        known = ledger.get(key)
        if known is not None and (answer := settled(known, action)) is not None:
            return out(answer)
        if known is None:
            if not request_approval(action, {"tool": tool.name, "args": args}):
                ledger.reject(key, tool.name)
                return out(rejected(action))
            holder = ledger.claim(key, tool.name)
            if holder is not None and (answer := settled(holder, action)) is not None:
                return out(answer)
        token = _CURRENT.set(ApprovedCall(key, action))
        artifact = None
        try:
            if pairs:
                call = {"type": "tool_call", "name": tool.name, "args": args, "id": key}
                message = tool.invoke(call)
                result, artifact = str(message.content), message.artifact
            else:
                result = str(tool.invoke(args))
        except EffectAlreadyApplied:
            result = f"Already applied earlier: {action}; not applied again."
        except BaseException:
            ledger.release(key)
            raise
        finally:
            _CURRENT.reset(token)
        ledger.finish(key, result)
        return out(result, artifact)

    return StructuredTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema if tool.args_schema is not None else tool.get_input_schema(),
        func=run,
        metadata={**meta, _GATED: True},
        tags=tool.tags,
        return_direct=tool.return_direct,
        response_format=tool.response_format,
    )
