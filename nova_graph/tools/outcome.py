"""How a tool says that what it did failed, without raising: a structured artifact.

A tool declared with ``response_format="content_and_artifact"`` returns ``failed(text)``; the
model still reads ``text`` (e.g. which pipeline step failed and why), and the agent records the
call as failed (see :func:`tool_failed`), so the run log and traces show a failure, found without
searching the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolMessage

FAILED_STATUS = "failed"


def failed(text: str) -> tuple[str, dict[str, str]]:
    """A tool's ``(content, artifact)`` result saying the action it ran failed."""
    return text, {"status": FAILED_STATUS}


def succeeded(text: str) -> tuple[str, dict[str, str]]:
    """A tool's ``(content, artifact)`` result saying the action it ran succeeded."""
    return text, {"status": "ok"}


def tool_failed(message: Any) -> bool:
    """True when a tool message reports an error (raised) or a failure (its artifact)."""
    if not isinstance(message, ToolMessage):
        return False
    artifact = message.artifact
    return message.status == "error" or (
        isinstance(artifact, Mapping) and artifact.get("status") == FAILED_STATUS
    )
