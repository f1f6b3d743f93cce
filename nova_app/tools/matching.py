"""Tolerant text matching for tools: find records named somewhere inside a whole request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

_WORD = re.compile(r"[a-z0-9]+")
# Words that say what the user wants done, not which record they mean.
_FILLER_WORDS = """a an the of to for in on at by and or is are be was it this that with from
    my our me
    please can could would you your i we us what whats which who how do does did get show give
    list tell about all any some up new many much have has had there their them its find look
    check see need want know current currently right now today left still much part parts item
    items stock stocks level levels units unit qty quantity number details detail info
    information price prices pricing cost costs customer customers client clients supplier
    suppliers vendor vendors order orders ordered history account balance owe owes owed
    pipeline pipelines run runs status last latest recent do we us demand forecast next days
    sell sold selling buy bought when where should"""
_FILLER = frozenset(_FILLER_WORDS.split())


def stem(word: str) -> str:
    """A crude English stem, enough to match 'brushes' with 'brush'."""
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def keywords(text: str) -> set[str]:
    """The distinctive, stemmed words of ``text``."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in _FILLER and len(w) > 1}


def best_matches(
    query: str, candidates: Iterable[T], fields: Sequence[str], *, limit: int = 10
) -> list[T]:
    """Candidates (rows or mappings) ranked by how many query keywords their ``fields`` contain.

    Only candidates sharing at least one keyword are returned; ties keep the input order.
    """
    wanted = keywords(query)
    if not wanted:
        return []
    scored: list[tuple[int, int, T]] = []
    for i, cand in enumerate(candidates):
        text = " ".join(str(cand[f]) for f in fields)  # type: ignore[index]
        have = keywords(text) | {w.lower() for w in _WORD.findall(text.lower())}
        score = len(wanted & have)
        if score:
            scored.append((-score, i, cand))
    scored.sort(key=lambda s: (s[0], s[1]))
    if not scored:
        return []
    top = scored[0][0]
    # Keep only the strongest matches so 'side brush 400mm' does not list every brush.
    return [c for s, _, c in scored if s == top][:limit]
