"""Keep secrets (API keys, tokens) out of failure records, logs and answers."""

from __future__ import annotations

import contextlib
import os
import re

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{8,}|"
    r"(?i:api[_-]?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9_\-\.]{8,})"
)
REDACTED = "[redacted]"


def secret_values() -> list[str]:
    """Values of environment variables whose names say they hold a secret (8+ characters)."""
    return sorted(
        {v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v.strip()) >= 8},
        key=len,
        reverse=True,
    )


def redact(text: str) -> str:
    """``text`` with secret environment values and key-shaped strings replaced."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    return _SECRET_SHAPES.sub(REDACTED, text)


def scrub_exception(exc: BaseException) -> BaseException:
    """Redact ``exc``'s message (and an API error's body) in place, so logs stay clean too."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    for attr in ("message", "body"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            with contextlib.suppress(AttributeError):  # read-only attribute
                setattr(exc, attr, redact(value))
    if exc.__cause__ is not None and exc.__cause__ is not exc:
        scrub_exception(exc.__cause__)
    return exc
