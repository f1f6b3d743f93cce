"""Checks on user text at the boundary: clear typed errors, never silent truncation."""

from __future__ import annotations

import re
from typing import Any

from nova_graph.errors import InvalidRequestError

DEFAULT_MAX_REQUEST_BYTES = 32 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def validate_request(text: Any, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> str:
    """Return ``text`` stripped, or raise :class:`InvalidRequestError` saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidRequestError(
            f"a request must be text (str), got {type(text).__name__}; pass the user's message "
            "as a string"
        )
    stripped = text.strip()
    if not stripped:
        raise InvalidRequestError("the request is empty; send a non-empty message")
    try:
        size = len(stripped.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRequestError(
            "the request contains invalid text (unpaired surrogate characters); send valid UTF-8"
        ) from None
    if size > max_bytes:
        raise InvalidRequestError(
            f"the request is {size} bytes, over the limit of {max_bytes} bytes; shorten it or "
            "raise max_request_bytes"
        )
    bad = _CONTROL.search(stripped)
    if bad:
        raise InvalidRequestError(
            f"the request contains a control character (U+{ord(bad.group()):04X}) at position "
            f"{bad.start()}; remove control characters"
        )
    return stripped


def message_text(message: Any) -> Any:
    """The text of a LangChain message or an OpenAI-style ``{"role", "content"}`` dict."""
    if isinstance(message, dict):
        return message.get("content")
    content = getattr(message, "content", None)
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return content
