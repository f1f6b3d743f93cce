"""The staleness eval: replay a scripted timeline into ChromaMemory, ask questions, score.

Scores per question: *stale hits* (returned memories the script marks stale at that time; must
be 0) and whether the expected current fact is in the top 5 (recall@5).
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from nova_graph.errors import InvalidRequestError
from nova_graph.memory import ChromaMemory

_DUR = re.compile(r"(-?\d+)([smhd])")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_offset(text: str) -> timedelta:
    """``"3d2h"`` -> timedelta(days=3, hours=2)."""
    parts = _DUR.findall(str(text))
    if not parts or "".join(a + b for a, b in parts) != str(text):
        raise InvalidRequestError(f"bad time offset {text!r}; use e.g. '3d', '2h', '3d2h'")
    return sum((timedelta(**{_UNIT[u]: int(n)}) for n, u in parts), timedelta())


class Event(BaseModel):
    """One line of the timeline: a ``remember`` or an ``ask``."""

    model_config = ConfigDict(extra="forbid")

    at: str
    remember: str | None = None
    label: str | None = None
    key: str | None = None
    ttl: str | None = None
    valid_from: str | None = None
    ask: str | None = None
    expect: str | None = None
    stale: list[str] = Field(default_factory=list)
    as_of: bool = False


class Timeline(BaseModel):
    """The whole script."""

    namespace: str
    start: datetime
    events: list[Event]


class QuestionResult(BaseModel):
    """What one question returned and how it scored."""

    question: str
    at: str
    expect: str | None
    returned: list[str]
    stale_hits: list[str]
    hit: bool | None  # None when nothing is expected


def load_timeline(path: Path) -> Timeline:
    """Parse and validate the timeline YAML."""
    data: Any = yaml.safe_load(path.read_text())
    return Timeline.model_validate(data)


def run_timeline(timeline: Timeline, *, memory: ChromaMemory | None = None) -> dict[str, Any]:
    """Replay the writes and questions in time order (``as_of`` questions after all writes)."""
    tmp = None
    if memory is None:
        tmp = tempfile.TemporaryDirectory(prefix="nova-mem-eval-")
        memory = ChromaMemory(tmp.name)
    ns, start = timeline.namespace, timeline.start
    ordered = sorted(
        enumerate(timeline.events),
        key=lambda ie: (ie[1].as_of, parse_offset(ie[1].at), ie[1].ask is not None, ie[0]),
    )
    label_of: dict[str, str] = {}
    results: list[QuestionResult] = []
    for _, ev in ordered:
        now = start + parse_offset(ev.at)
        if ev.remember is not None:
            mid = memory.remember(
                ev.remember,
                namespace=ns,
                key=ev.key,
                ttl=parse_offset(ev.ttl) if ev.ttl else None,
                valid_from=start + parse_offset(ev.valid_from) if ev.valid_from else None,
                now=now,
            )
            label_of[mid] = ev.label or mid
        elif ev.ask is not None:
            found = memory.recall(ev.ask, namespace=ns, k=5, now=now)
            labels = [label_of.get(m.id, m.id) for m in found]
            results.append(
                QuestionResult(
                    question=ev.ask,
                    at=ev.at + (" (as of)" if ev.as_of else ""),
                    expect=ev.expect,
                    returned=labels,
                    stale_hits=[lab for lab in labels if lab in ev.stale],
                    hit=None if ev.expect is None else ev.expect in labels,
                )
            )
    if tmp is not None:
        tmp.cleanup()
    scored = [r for r in results if r.hit is not None]
    return {
        "questions": len(results),
        "stale_hits": sum(len(r.stale_hits) for r in results),
        "recall_at_5": sum(bool(r.hit) for r in scored) / len(scored) if scored else 0.0,
        "expected_facts": len(scored),
        "details": [r.model_dump() for r in results],
    }
