"""Human approval for tools that change data: pause the graph with ``interrupt`` first."""

from __future__ import annotations

from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.types import interrupt

from nova_graph.errors import ToolError

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
