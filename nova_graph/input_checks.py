"""Checks on user text at the boundary: clear typed errors, never silent truncation."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nova_graph.errors import InvalidRequestError

DEFAULT_MAX_REQUEST_BYTES = 32 * 1024


class InputLimits(BaseModel):
    """The largest inputs a graph accepts; anything larger is refused before it is checkpointed.

    ``request_bytes`` bounds the newest user message, ``history_bytes`` all messages of one input
    together, ``resume_bytes`` the answer to a pending question (``Command(resume=...)``) and
    ``update_bytes`` a state update (``Command(update=...)`` or ``update_state``). Sizes are
    UTF-8 bytes of the text (JSON for structured values).
    """

    model_config = ConfigDict(frozen=True)

    request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1)
    history_bytes: int = Field(default=1024 * 1024, ge=1)
    resume_bytes: int = Field(default=4 * 1024, ge=1)
    update_bytes: int = Field(default=256 * 1024, ge=1)


def value_bytes(value: Any) -> int:
    """The size of ``value`` as UTF-8 JSON (messages and other objects by their text)."""
    text = json.dumps(value, ensure_ascii=False, default=lambda o: message_text(o) or str(o))
    return len(text.encode("utf-8", "surrogatepass"))


def storable_bytes(value: Any, what: str) -> int:
    """The size of ``value`` as UTF-8 JSON, or :class:`InvalidRequestError` when a checkpoint
    could not store it (unpaired surrogates, integers beyond 64 bits, objects not plain data)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=lambda o: message_text(o) or str(o))
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"{what} contains invalid text (unpaired surrogate characters); send valid UTF-8"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"{what} must hold plain data (text, numbers, lists, dicts, messages): {exc}"
        ) from None
    if _has_huge_int(value):
        raise InvalidRequestError(f"{what} holds an integer beyond 64 bits; send it as text")
    return size


def _has_huge_int(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**64
    if isinstance(value, Mapping):
        return any(_has_huge_int(k) or _has_huge_int(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_huge_int(v) for v in value)
    return False


def _check_size(what: str, size: int, limit: int, setting: str) -> None:
    if size > limit:
        raise InvalidRequestError(
            f"{what} is {size} bytes, over the limit of {limit} bytes; send less (start a new "
            f"thread instead of re-sending history) or raise {setting}"
        )


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
        return "".join(_part_text(part) for part in content)
    return content


def _part_text(part: Any) -> str:
    """The text of one content part: a string or a ``{"type": "text", "text": ...}`` dict."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise InvalidRequestError(
            f"a message content part must be text or a {{'type': ..., ...}} dict, got "
            f"{type(part).__name__}"
        )
    text = part.get("text", "")
    if not isinstance(text, str):
        raise InvalidRequestError(
            f"a text content part's 'text' must be a string, got {type(text).__name__}; send "
            "{'type': 'text', 'text': '<text>'}"
        )
    return text


def check_build_arguments(
    *,
    router: Any = None,
    model: Any = None,
    checkpointer: Any = None,
    data_dir: Any = None,
    max_request_bytes: Any = DEFAULT_MAX_REQUEST_BYTES,
    reliability: Any = None,
    circuit_breaker: Any = None,
) -> None:
    """Raise :class:`InvalidRequestError` when a ``build_graph`` argument has the wrong type."""
    from langchain_core.language_models import BaseChatModel
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from nova_graph.reliability import CircuitBreaker, ReliabilityPolicy

    if router is not None and not callable(getattr(router, "route", None)):
        raise InvalidRequestError(
            f"router must have a route(text) -> RouteDecision method, got {type(router).__name__}; "
            "pass a nova_graph.routing router or None for the default"
        )
    if model is not None and not isinstance(model, BaseChatModel):
        raise InvalidRequestError(
            f"model must be a LangChain BaseChatModel, got {type(model).__name__}; "
            "pass e.g. ChatOpenAI(...), nova_graph.models.OfflineChatModel() or None"
        )
    if (
        checkpointer is not None
        and checkpointer is not False
        and not isinstance(checkpointer, BaseCheckpointSaver)
    ):
        raise InvalidRequestError(
            f"checkpointer must be a LangGraph BaseCheckpointSaver, False or None, got "
            f"{type(checkpointer).__name__}; see nova_graph.checkpoint.sqlite_checkpointer"
        )
    if data_dir is not None and not isinstance(data_dir, str | os.PathLike):
        raise InvalidRequestError(
            f"data_dir must be a path (str or pathlib.Path), got {type(data_dir).__name__}"
        )
    if isinstance(max_request_bytes, bool) or not isinstance(max_request_bytes, int):
        raise InvalidRequestError(
            f"max_request_bytes must be an int, got {type(max_request_bytes).__name__}"
        )
    if max_request_bytes < 1:
        raise InvalidRequestError(f"max_request_bytes must be positive, got {max_request_bytes}")
    if reliability is not None and not isinstance(reliability, ReliabilityPolicy):
        raise InvalidRequestError(
            f"reliability must be a nova_graph.reliability.ReliabilityPolicy, got "
            f"{type(reliability).__name__}"
        )
    if circuit_breaker is not None and not isinstance(circuit_breaker, CircuitBreaker):
        raise InvalidRequestError(
            f"circuit_breaker must be a nova_graph.reliability.CircuitBreaker, got "
            f"{type(circuit_breaker).__name__}"
        )


def validate_payload(payload: Any, *, limits: InputLimits | None = None) -> None:
    """Check a graph input before anything is written to the thread's checkpoint.

    ``None`` (continue) passes. A ``Command`` must carry a non-``None`` ``resume`` and/or an
    ``update``, each within ``limits``. Otherwise the payload must be a mapping whose
    ``messages`` is a non-empty list of messages (LangChain messages, ``{"role", "content"}``
    dicts, ``(role, content)`` pairs or strings), within ``limits.history_bytes`` together, and
    whose last message passes :func:`validate_request`. Raises :class:`InvalidRequestError`.
    """
    from langchain_core.messages import convert_to_messages
    from langgraph.types import Command

    limits = limits or InputLimits()
    if payload is None:
        return
    if isinstance(payload, Command):
        validate_command(payload, limits)
        return
    if not isinstance(payload, dict):
        raise InvalidRequestError(
            f"graph input must be a dict like {{'messages': [{{'role': 'user', 'content': "
            f"'...'}}]}}, got {type(payload).__name__}"
        )
    unknown = sorted(str(k) for k in payload if k != "messages")
    if unknown:
        raise InvalidRequestError(f"graph input has unknown keys {unknown}; send only 'messages'")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError(
            "graph input 'messages' must be a non-empty list of messages, got "
            f"{type(messages).__name__ if not isinstance(messages, list) else 'an empty list'}"
        )
    try:
        converted = convert_to_messages(messages)
    except Exception as exc:  # langchain raises ValueError, NotImplementedError, ValidationError
        raise InvalidRequestError(
            f"graph input 'messages' holds something that is not a message ({type(exc).__name__}:"
            f" {str(exc).splitlines()[0][:200]}); send {{'role': 'user', 'content': '<text>'}}"
        ) from None
    validate_request(message_text(converted[-1]), max_bytes=limits.request_bytes)
    size = sum(value_bytes(message_text(m)) for m in converted)
    _check_size("the input's messages", size, limits.history_bytes, "max_history_bytes")


def validate_command(command: Any, limits: InputLimits) -> None:
    """Check a ``Command`` sent as graph input: a resume value and/or a bounded state update."""
    if command.graph is not None or command.goto:
        raise InvalidRequestError(
            "a Command sent as graph input may carry only resume= and update=; routing "
            "(goto/graph) is decided inside the graph"
        )
    if command.resume is None and command.update is None:
        raise InvalidRequestError(
            "Command(resume=None) answers nothing; pass the answer to the pending question, "
            "e.g. Command(resume='yes'), or invoke with None to continue"
        )
    if command.resume is not None:
        resume = command.resume
        size = storable_bytes(resume, "the resume value")
        _check_size("the resume value", size, limits.resume_bytes, "max_resume_bytes")
        if isinstance(resume, str):
            validate_request(resume, max_bytes=limits.resume_bytes)
    if command.update is not None:
        validate_update(command.update, limits)


def validate_update(update: Any, limits: InputLimits) -> None:
    """Check a state update (``Command(update=...)`` or ``update_state``): a bounded mapping."""
    if isinstance(update, list | tuple):
        update = (
            dict(update) if all(isinstance(u, tuple) and len(u) == 2 for u in update) else update
        )
    if not isinstance(update, Mapping):
        raise InvalidRequestError(
            f"a state update must be a mapping of state keys to values, got {type(update).__name__}"
        )
    if not update:
        raise InvalidRequestError("the state update is empty; give at least one state key")
    size = storable_bytes(update, "a state update")
    _check_size("the state update", size, limits.update_bytes, "max_update_bytes")
