"""The parts of a request: strong boundaries (sentences, lists, "and then") from
:mod:`~nova_graph.routing.clauses`, plus comma-joined requests ("check the stock, email the
supplier, remind me on Friday"). A bare "and" is left to the router, which splits it only when
both halves are confident on their own ("look up the account for Smith and Sons" stays whole).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from nova_graph.routing import clauses
from nova_graph.routing.cues import words
from nova_graph.routing.payload import Instruction, split_instruction

_COMMA = re.compile(r",\s*(?:and\s+)?")
_MIN_WORDS = 2


@dataclass(frozen=True)
class Part:
    """One part of a request: ``route_text`` is what the router reads, ``text`` what the agent
    gets (the same unless the part carries a payload)."""

    route_text: str
    text: str


def comma_parts(segment: str, starters: Collection[str]) -> list[str]:
    """Cut ``segment`` at commas followed by a request opening (an action or question word).

    "stock of brush heads, side brushes and filters" stays whole: "side" opens no request.
    """
    pieces: list[str] = []
    start = 0
    for m in _COMMA.finditer(segment):
        left, right = segment[start : m.start()].strip(), segment[m.end() :].strip()
        right_words = words(right)
        if (
            len(words(left)) >= _MIN_WORDS
            and len(right_words) >= _MIN_WORDS
            and right_words[0] in starters
        ):
            pieces.append(left)
            start = m.end()
    pieces.append(segment[start:].strip())
    return [p for p in pieces if p]


def find_parts(text: str, starters: Collection[str]) -> list[Part]:
    """Every part of ``text``; a payload ("...: <text>") stays whole with the last part."""
    found = split_instruction(text)
    head = found.instruction if found else text
    segments = [s.text for s in clauses.segment(head)] or [head]
    heads = [p for s in segments for p in comma_parts(s, starters)] or [head]
    if found is None:
        return [Part(h, h) for h in heads]
    *first, last = heads
    return [Part(h, h) for h in first] + [Part(last, Instruction(last, found.payload).text)]
