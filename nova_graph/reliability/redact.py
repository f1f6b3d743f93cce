"""Keep secrets (API keys, tokens, URL passwords) out of checkpoints, logs, answers and errors."""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import SecretStr

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{8,}|"
    r"(?i:api[_-]?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9_\-\.]{8,})"
)
# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):([^/\s@]+)@")
REDACTED = "[redacted]"


_REGISTERED: set[str] = set()


def secret_values() -> list[str]:
    """Registered secrets and values of environment variables named like secrets (8+ chars)."""
    from_env = {v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v.strip()) >= 8}
    return sorted(from_env | _REGISTERED, key=len, reverse=True)


def register_secret(value: str | SecretStr | None) -> None:
    """Redact ``value`` (8+ characters) from now on, e.g. an API key passed in code."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str) and len(value.strip()) >= 8:
        _REGISTERED.add(value)


def register_model_secrets(model: Any) -> None:
    """Register a chat model's API key (LangChain's ``openai_api_key`` / ``api_key``) as secret."""
    for attr in ("openai_api_key", "api_key", "anthropic_api_key"):
        register_secret(getattr(model, attr, None))


def redact_url(url: str) -> str:
    """``url`` (or any text holding URLs) with every URL password replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def redact(text: str) -> str:
    """``text`` with secret environment values, key-shaped strings and URL passwords replaced."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    return redact_url(_SECRET_SHAPES.sub(REDACTED, text))


def redact_value(value: Any) -> Any:
    """``value`` with every string inside it (through dicts, lists and tuples) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def scrub_exception(exc: BaseException) -> BaseException:
    """Redact ``exc``'s message (and an API error's body) in place, so logs stay clean too.

    The chain of causes and contexts is scrubbed too, and an HTTP error's ``response`` and
    ``request`` (which hold the ``Authorization`` header) are dropped.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    pending = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(redact_value(a) for a in current.args)
        for attr in ("message", "body"):
            value = getattr(current, attr, None)
            if value is not None:
                with contextlib.suppress(AttributeError, TypeError):  # read-only attribute
                    setattr(current, attr, redact_value(value))
        for attr in ("response", "request"):
            if attr in getattr(current, "__dict__", {}):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(current, attr, None)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return exc


class SecretScrubber(BaseCallbackHandler):
    """A LangChain callback that scrubs every model, tool and node error where it is raised.

    Attached to a runnable, it redacts the exception in place before LangGraph saves it as the
    task's ``__error__`` write, so no checkpoint ever holds a secret a server echoed back.
    """

    run_inline = True  # scrub in the raising thread, before the error propagates further

    # Every scrubber does the same, so equal: LangChain adds a handler to a run only when no
    # equal one is there, and an agent loop's own scrubber (for a loop run alone) is then not
    # added again beside the one the graph's runs pass down, which would see every event twice.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretScrubber)

    def __hash__(self) -> int:
        return hash(SecretScrubber)

    def _scrub(self, error: BaseException, **kwargs: Any) -> None:
        scrub_exception(error)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Scrub a chat model's error."""
        self._scrub(error)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Scrub a runnable's (graph node's) error."""
        self._scrub(error)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Scrub a tool's error."""
        self._scrub(error)
