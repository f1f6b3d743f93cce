"""Argument checks for the memory store: every bad argument becomes a :class:`MemoryStoreError`.

Not the graph's request checks (those are :mod:`nova_graph.input_checks`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from nova_graph.errors import MemoryStoreError
from nova_graph.memory.model import RESERVED_KEYS, USER_PREFIX

NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")
KEY_RE = re.compile(r"^[^\x00-\x1f]{1,256}$")
DEFAULT_MAX_TEXT_BYTES = 32 * 1024


def check_text(text: object, *, max_bytes: int, what: str = "memory text") -> str:
    """Non-empty str within ``max_bytes`` UTF-8 bytes, stripped."""
    if not isinstance(text, str):
        raise MemoryStoreError(f"{what} must be a str, got {type(text).__name__}; pass plain text")
    stripped = text.strip()
    if not stripped:
        raise MemoryStoreError(f"{what} is empty or whitespace; pass some text")
    size = len(utf8(stripped, what))
    if size > max_bytes:
        raise MemoryStoreError(
            f"{what} is {size} bytes, over the {max_bytes}-byte limit; shorten or split it "
            f"(or raise max_text_bytes)"
        )
    return stripped


def utf8(text: str, what: str) -> bytes:
    """``text`` as UTF-8, or a :class:`MemoryStoreError` naming what cannot be encoded."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MemoryStoreError(
            f"{what} contains {text[exc.start : exc.end]!r} at position {exc.start}, a lone "
            f"surrogate that is not valid Unicode (often from a badly decoded file); nothing was "
            f"stored; decode the source as UTF-8 or replace the character"
        ) from None


def check_namespace(namespace: object) -> str:
    """A namespace: 1-128 chars of letters, digits and ``_ . : @ / -``, starting alphanumeric."""
    if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace):
        raise MemoryStoreError(
            f"bad namespace {namespace!r}: use 1-128 characters from letters, digits and "
            f"'_.:@/-', starting with a letter or digit (e.g. 'user:alice')"
        )
    return namespace


def check_key(key: object) -> str | None:
    """An optional memory key: a non-empty str of at most 256 printable characters."""
    if key is None:
        return None
    if not isinstance(key, str) or not KEY_RE.match(key) or not key.strip():
        raise MemoryStoreError(
            f"bad key {key!r}: a key is a non-empty string of at most 256 printable characters"
        )
    utf8(key, "key")
    return key


def check_datetime(value: object, name: str) -> datetime | None:
    """An optional timezone-aware datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise MemoryStoreError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise MemoryStoreError(
            f"{name} is a naive datetime; pass a timezone-aware one, e.g. datetime.now(UTC)"
        )
    return value


def check_duration(value: object, name: str) -> timedelta | None:
    """An optional positive duration, as a timedelta or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise MemoryStoreError(
            f"{name} must be a timedelta or seconds (int/float), got {type(value).__name__}"
        )
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise MemoryStoreError(f"{name} must be positive and finite, got {value!r}")
    return timedelta(seconds=seconds)


def check_k(k: object) -> int:
    """A result count between 1 and 1000."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
        raise MemoryStoreError(f"k must be an int between 1 and 1000, got {k!r}")
    return k


def check_metadata(metadata: object) -> dict[str, str | int | float | bool]:
    """User metadata: a flat mapping of str keys to str/int/float/bool values."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise MemoryStoreError(f"metadata must be a mapping, got {type(metadata).__name__}")
    out: dict[str, str | int | float | bool] = {}
    for k, v in metadata.items():
        if not isinstance(k, str) or not k or k.startswith(USER_PREFIX):
            raise MemoryStoreError(
                f"bad metadata key {k!r}: keys are non-empty strings not starting with "
                f"{USER_PREFIX!r}"
            )
        if k in RESERVED_KEYS and k not in ("agent", "family"):
            raise MemoryStoreError(
                f"metadata key {k!r} is reserved by the store; pass it as an argument or rename it"
            )
        if not isinstance(v, str | int | float | bool) or (
            isinstance(v, float) and not math.isfinite(v)
        ):
            raise MemoryStoreError(
                f"metadata[{k!r}] must be a str, int, finite float or bool, got {v!r}"
            )
        if k in ("agent", "family") and not isinstance(v, str):
            raise MemoryStoreError(f"metadata[{k!r}] must be a str (an agent or family name)")
        utf8(k, "a metadata key")
        if isinstance(v, str):
            utf8(v, f"metadata[{k!r}]")
        out[k] = v
    return out


def check_id(id_: object) -> str:
    """A memory id as returned by ``remember``."""
    if not isinstance(id_, str) or not id_.strip():
        raise MemoryStoreError(f"bad memory id {id_!r}: pass an id returned by remember()")
    return id_
