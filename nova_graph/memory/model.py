"""The :class:`Memory` record and its encoding as Chroma metadata (times as epoch floats)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# "Never" as an epoch float (9999-12-31T23:59:59Z): Chroma metadata cannot hold None or inf, and
# a finite sentinel keeps every staleness rule a plain numeric comparison in a ``where`` filter.
NEVER = 253402300799.0

# Metadata keys owned by the store; user metadata is stored under ``USER_PREFIX``.
USER_PREFIX = "u_"
RESERVED_KEYS = (
    "namespace",
    "key",
    "created_at",
    "valid_from",
    "expires_at",
    "superseded_at",
    "superseded_by",
    "stale_reason",
    "agent",
    "family",
)
# Metadata keys a caller may set that are also stored as first-class (filterable) fields.
TAG_KEYS = ("agent", "family")


def to_epoch(value: datetime) -> float:
    """A timezone-aware datetime as epoch seconds."""
    return value.timestamp()


def from_epoch(value: float) -> datetime | None:
    """Epoch seconds as an aware UTC datetime (``None`` for the :data:`NEVER` sentinel)."""
    if value >= NEVER:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(tz=UTC)


class Memory(BaseModel):
    """One remembered fact as returned by recall/history. Times are aware UTC datetimes."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    namespace: str
    key: str | None = None
    created_at: datetime
    valid_from: datetime
    expires_at: datetime | None = Field(default=None, description="None: never expires.")
    superseded_by: str | None = Field(default=None, description="Id of the replacing memory.")
    superseded_at: datetime | None = Field(default=None, description="When it stopped being true.")
    stale_reason: str | None = Field(
        default=None, description="Why it was superseded (same key, or the update detector's why)."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    score: float | None = Field(default=None, description="Cosine similarity to the query.")

    def age_seconds(self, now: datetime) -> float:
        """Seconds between ``created_at`` and ``now``."""
        return (now - self.created_at).total_seconds()

    def is_current(self, now: datetime) -> bool:
        """Whether the memory is valid, unexpired and not superseded at ``now``."""
        return (
            self.valid_from <= now
            and (self.expires_at is None or self.expires_at > now)
            and (self.superseded_at is None or self.superseded_at > now)
        )


def record_metadata(
    *,
    namespace: str,
    key: str | None,
    created_at: float,
    valid_from: float,
    expires_at: float = NEVER,
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Chroma metadata of a new (not superseded) memory; times are epoch floats."""
    user = dict(user or {})
    meta: dict[str, Any] = {
        "namespace": namespace,
        "key": key or "",
        "created_at": created_at,
        "valid_from": valid_from,
        "expires_at": expires_at,
        "superseded_at": NEVER,
        "superseded_by": "",
        "stale_reason": "",
    }
    for tag in TAG_KEYS:
        meta[tag] = str(user.pop(tag, ""))
    meta.update({USER_PREFIX + k: val for k, val in user.items()})
    return meta


def memory_from_chroma(
    id_: str, document: str, meta: dict[str, Any], score: float | None = None
) -> Memory:
    """Rebuild a :class:`Memory` from a Chroma row."""
    user = {k[len(USER_PREFIX) :]: v for k, v in meta.items() if k.startswith(USER_PREFIX)}
    for tag in TAG_KEYS:
        if meta.get(tag):
            user[tag] = meta[tag]
    created = from_epoch(float(meta["created_at"]))
    valid = from_epoch(float(meta["valid_from"]))
    assert created is not None and valid is not None
    return Memory(
        id=id_,
        text=document,
        namespace=str(meta["namespace"]),
        key=str(meta["key"]) or None,
        created_at=created,
        valid_from=valid,
        expires_at=from_epoch(float(meta["expires_at"])),
        superseded_by=str(meta.get("superseded_by", "")) or None,
        superseded_at=from_epoch(float(meta.get("superseded_at", NEVER))),
        stale_reason=str(meta.get("stale_reason", "")) or None,
        metadata=user,
        score=score,
    )
