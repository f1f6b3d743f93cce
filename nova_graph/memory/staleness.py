"""Staleness rules, written once as a Chroma ``where`` filter.

A memory is *current* at ``now`` when it is valid (``valid_from <= now``), unexpired
(``expires_at > now``), not superseded (``superseded_at > now``; the sentinel ``NEVER`` means
"not superseded") and, when ``max_age`` is given, young enough (``created_at >= now - max_age``).

:func:`current_where` builds the filter Chroma evaluates; :func:`compile_where` (and
:func:`matches`) evaluate the same filter on a metadata dict, so the store can check a candidate
pool with exactly the rule Chroma applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from nova_graph.memory.model import to_epoch

Where = dict[str, Any]


def current_where(
    now: datetime,
    *,
    max_age: timedelta | None = None,
    agent: str | None = None,
    family: str | None = None,
) -> Where:
    """The ``where`` filter selecting memories that are current at ``now``.

    ``agent``/``family`` additionally keep only memories tagged for that agent/family or untagged.
    """
    t = to_epoch(now)
    clauses: list[Where] = [
        {"valid_from": {"$lte": t}},
        {"expires_at": {"$gt": t}},
        {"superseded_at": {"$gt": t}},
    ]
    if max_age is not None:
        clauses.append({"created_at": {"$gte": t - max_age.total_seconds()}})
    if agent is not None:
        clauses.append({"agent": {"$in": [agent, ""]}})
    if family is not None:
        clauses.append({"family": {"$in": [family, ""]}})
    return {"$and": clauses}


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: a in b,
    "$nin": lambda a, b: a not in b,
}


def compile_where(where: Where) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate on metadata equal to the ``where`` filter (the subset :func:`current_where`
    uses), built once so that checking many rows does not walk the filter again for each."""
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for field, cond in where.items():
        if field == "$and":  # flattened: the predicate is already a conjunction
            tests.extend(compile_where(c) for c in cond)
        elif field == "$or":
            tests.append(_any_of([compile_where(c) for c in cond]))
        elif isinstance(cond, dict):
            for op, operand in cond.items():
                if op not in _OPS:
                    raise ValueError(f"unsupported where operator {op!r}")
                tests.append(_compare(field, _OPS[op], operand))
        else:
            tests.append(_compare(field, _OPS["$eq"], cond))
    return lambda metadata: all(test(metadata) for test in tests)


def _any_of(
    tests: list[Callable[[Mapping[str, Any]], bool]],
) -> Callable[[Mapping[str, Any]], bool]:
    return lambda metadata: any(test(metadata) for test in tests)


def _compare(
    field: str, op: Callable[[Any, Any], bool], operand: Any
) -> Callable[[Mapping[str, Any]], bool]:
    return lambda metadata: op(metadata.get(field), operand)


def matches(where: Where, metadata: Mapping[str, Any]) -> bool:
    """Evaluate a Chroma ``where`` filter (the subset :func:`current_where` uses) on metadata."""
    return compile_where(where)(metadata)
