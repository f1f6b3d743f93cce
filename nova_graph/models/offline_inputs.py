"""How the offline model uses results of earlier plan steps: one tool call per listed item.

A dependent step sees its upstream steps' answers and tool outputs as quoted JSON lines inside
``<upstream_results>``. Tables (``a | b | c``) and part lines (``SP-1005 ...``) in those outputs
become rows; a reference such as "any that are low" keeps the rows that say "low"; each row (or
each customer's group of rows) then fills the arguments of one tool call: a drafter writes one
email per customer, purchasing proposes one purchase order per low part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

BLOCK = "upstream_results"
MAX_ROW_CALLS = 7  # approval calls go one per model turn: 2 steps each
_SKU_LINE = re.compile(r"\b(SP-\d{4})\b")
_AVAILABLE = re.compile(r"(-?\d+) available")
_REORDER = re.compile(r"reorder level (\d+)")
_FILTER = re.compile(
    r"\b(?:any|those|ones|all|each|the\s+ones)\s+(?:that|which|who)\s+(?:are|is|were|was)\s+"
    r"(?:still\s+|now\s+|too\s+)?([a-z]+)",
    re.IGNORECASE,
)
_DISTRIBUTIVE = re.compile(
    r"\b(?:each|every|any\s+(?:that|which)|all\s+of\s+(?:them|those)|those|them|these|"
    r"the\s+ones)\b",
    re.IGNORECASE,
)
_LEAD_VERB = re.compile(
    r"^(?:please\s+)?(?:find|list|show(?:\s+me)?|check|get|give\s+me|look\s+up|fetch|pull)\s+"
    r"(?:the\s+|all\s+|our\s+|my\s+)?",
    re.IGNORECASE,
)
_PART_ARGS = frozenset({"part", "sku", "item", "product"})
_PARTY_ARGS = frozenset({"customer", "name", "company", "client", "supplier", "to"})
_QUANTITY_ARGS = frozenset({"quantity", "qty", "units"})


def upstream_inputs(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The upstream step results quoted in the messages (empty when there are none)."""
    for m in messages:
        text = str(m.content) if isinstance(m, SystemMessage) else ""
        if f"<{BLOCK}>" in text:
            body = text[text.index(f"<{BLOCK}>") + len(BLOCK) + 2 : text.rindex(f"</{BLOCK}>")]
            return [json.loads(line) for line in body.splitlines() if line.strip()]
    return []


def upstream_rows(inputs: list[dict[str, Any]], request: str) -> list[dict[str, str]]:
    """Rows listed by the upstream tool outputs, kept by the request's filter word if any.

    Empty unless the request is about each of several things ("each of those", "any that").
    """
    if not _DISTRIBUTIVE.search(request):
        return []
    rows: list[dict[str, str]] = []
    headers: list[str] = []
    for item in inputs:
        for out in item.get("tool_outputs", []):
            text = str(out.get("output", ""))
            headers.append(text.splitlines()[0].lower() if text else "")
            for row in _parse_rows(text):
                row["_from"] = str(item.get("request", ""))
                rows.append(row)
    wanted = _FILTER.search(request)
    if wanted and rows:
        word = wanted[1].lower()
        kept = [r for r in rows if word in r["_text"].lower()]
        if kept:
            return kept
        return rows if any(word in h for h in headers) else []
    return rows


def _parse_rows(text: str) -> list[dict[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        if " | " in line:
            cols = [c.strip() for c in line.split(" | ")]
            out = []
            for ln in lines[i + 1 :]:
                cells = [c.strip() for c in ln.split(" | ")]
                if len(cells) == len(cols):
                    out.append({**dict(zip(cols, cells, strict=True)), "_text": ln})
            return out
    rows = []
    for ln in lines:
        sku = _SKU_LINE.search(ln)
        if sku is None:
            continue
        row = {"sku": sku[1], "_text": ln}
        if (m := _AVAILABLE.search(ln)) is not None:
            row["available"] = m[1]
        if (m := _REORDER.search(ln)) is not None:
            row["reorder_level"] = m[1]
        rows.append(row)
    return rows


def row_arguments(
    parameters: dict[str, Any], rows: list[dict[str, str]], request: str, numbers: list[str]
) -> dict[str, Any] | None:
    """Arguments for one call about ``rows`` (one entity), or None when one cannot be filled."""
    row = rows[0]
    args: dict[str, Any] = {}
    required = parameters.get("required", [])
    if not required:
        return None  # a call that takes nothing from the row would repeat the same call
    props: dict[str, Any] = parameters.get("properties", {})
    for name in required:
        kind = props.get(name, {}).get("type")
        if kind in ("integer", "number"):
            value = _quantity(row) if name in _QUANTITY_ARGS and not numbers else None
            if value is None and numbers:
                value = int(float(numbers[0]))
            if value is None:
                return None
            args[name] = value
        elif kind == "string" or kind is None:
            if name in _PART_ARGS:
                args[name] = row.get("sku") or row.get("part") or row.get("name")
            elif name in _PARTY_ARGS:
                args[name] = row.get("customer") or row.get("supplier") or row.get("name")
            else:
                args[name] = _brief(rows, request)
            if not args[name]:
                return None
        else:
            return None
    return args


def entity_groups(rows: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Rows grouped by the party or part they are about, in first-seen order."""
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        key = r.get("customer") or r.get("supplier") or r.get("sku") or r["_text"]
        groups.setdefault(key, []).append(r)
    return list(groups.values())[:MAX_ROW_CALLS]


def _quantity(row: dict[str, str]) -> int | None:
    """Enough to bring a part back to twice its reorder level."""
    try:
        available, level = int(row["available"]), int(row["reorder_level"])
    except (KeyError, ValueError):
        return None
    return max(2 * level - available, 1)


def _brief(rows: list[dict[str, str]], request: str) -> str:
    """A text brief about one entity: who it is for, what about, and the upstream facts."""
    row = rows[0]
    party = row.get("customer") or row.get("supplier") or row.get("name") or row.get("sku")
    subject = _LEAD_VERB.sub("", row.get("_from", "")).strip() or request
    facts = ", ".join(
        " ".join(f"{k} {v}" for k, v in r.items() if not k.startswith("_") and v != party)
        for r in rows
    )
    return f"to: {party}; about: {subject}; points: {facts}"
