"""Labelled requests: a request and the agent(s) that should handle it (none: out of scope)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from nova_graph.errors import InvalidRequestError


class LabelledRequest(BaseModel):
    """One request with its expected routes; an empty ``agents`` list means out of scope."""

    text: str = Field(min_length=1, max_length=32 * 1024)
    agents: list[str] = Field(default_factory=list)
    ambiguous: bool = Field(
        default=False,
        description="Several agents are defensible (``agents`` are the candidates): the router "
        "should ask which one is meant; scored as clarification, not accuracy.",
    )

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a labelled request needs non-empty text")
        return value

    @property
    def label(self) -> str | None:
        """The single expected agent (the first one), or ``None`` when out of scope."""
        return self.agents[0] if self.agents else None


_TEXT_KEYS = ("text", "request", "utterance")
_LABEL_KEYS = ("agents", "agent", "expected", "route", "routes", "label")


def parse_labelled(data: Any, *, where: str = "the labelled set") -> list[LabelledRequest]:
    """Parse ``[{text|request, agent|agents|expected}, ...]`` (or ``{"items": [...]}``, or
    ``{"agents": {name: [texts]}, "multi_domain": [{text, agents}]}``).

    A label of ``null``, ``"none"``, ``"out_of_scope"`` or ``[]`` means out of scope.
    """
    if isinstance(data, dict) and isinstance(data.get("agents"), dict):
        # {agents: {name: [texts]}, multi_domain: [{text, agents}], out_of_scope: [texts],
        # ambiguous: [{text, candidates}]}: single-agent requests first, then multi-domain ones,
        # out-of-scope ones, then ambiguous ones (scored as clarification).
        single = [
            {"text": t, "agents": [name]}
            for name, texts in data["agents"].items()
            for t in (texts or [])
        ]
        oos = [{"text": t, "agents": []} for t in data.get("out_of_scope") or []]
        unclear = [
            {"text": a.get("text"), "agents": a.get("candidates") or [], "ambiguous": True}
            for a in data.get("ambiguous") or []
            if isinstance(a, dict)
        ]
        data = single + list(data.get("multi_domain") or []) + oos + unclear
    if isinstance(data, dict):
        for key in ("items", "requests", "examples", "heldout", "cases"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise InvalidRequestError(
            f"{where} must be a list of {{text, agent}} items (or a mapping with an 'items' list)"
        )
    out: list[LabelledRequest] = []
    for i, raw in enumerate(data):
        if isinstance(raw, list | tuple) and len(raw) == 2:
            raw = {"text": raw[0], "agents": raw[1]}
        if not isinstance(raw, dict):
            raise InvalidRequestError(f"item #{i} of {where} is not a mapping")
        text = next((raw[k] for k in _TEXT_KEYS if k in raw), None)
        label = next((raw[k] for k in _LABEL_KEYS if k in raw), None)
        if isinstance(label, str):
            label = [] if label.lower() in ("none", "out_of_scope", "oos", "") else [label]
        elif label is None:
            label = []
        try:
            out.append(
                LabelledRequest.model_validate(
                    {"text": text, "agents": label, "ambiguous": bool(raw.get("ambiguous"))}
                )
            )
        except ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors())
            raise InvalidRequestError(f"item #{i} of {where} is invalid: {problems}") from None
    return out


def load_labelled(path: str | Path) -> list[LabelledRequest]:
    """Load a labelled set from a YAML or JSON file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidRequestError(f"cannot read the labelled set {p}: {exc}") from None
    return parse_labelled(data, where=str(p))


def stratified_split(
    items: Sequence[LabelledRequest], fraction: float, *, seed: int = 0
) -> tuple[list[LabelledRequest], list[LabelledRequest]]:
    """Split ``items`` per label into (``fraction`` of each label, the rest), reproducibly."""
    if not 0.0 < fraction < 1.0:
        raise InvalidRequestError(f"fraction must be strictly between 0 and 1, got {fraction}")
    groups: dict[str | None, list[LabelledRequest]] = defaultdict(list)
    for item in items:
        groups[item.label].append(item)
    rng = random.Random(seed)
    first: list[LabelledRequest] = []
    rest: list[LabelledRequest] = []
    for label in sorted(groups, key=lambda x: "" if x is None else x):
        group = list(groups[label])
        rng.shuffle(group)
        k = round(len(group) * fraction)
        if len(group) >= 2:
            k = min(max(k, 1), len(group) - 1)
        first.extend(group[:k])
        rest.extend(group[k:])
    return first, rest


def labels_of(items: Iterable[LabelledRequest]) -> list[str]:
    """The distinct agent labels in ``items``, sorted."""
    return sorted({a for item in items for a in item.agents})
