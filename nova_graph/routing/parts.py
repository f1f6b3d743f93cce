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
#: A last sentence after a payload that opens with a joiner is the next part of the request
#: ("proofread this: teh cat. Also schedule the import"), not more text to work on.
_TRAILING = re.compile(
    r"[.!?]\s+(?:and\s+)?(?:also|then|after\s+that|afterwards)\b,?\s+(?P<rest>[^.!?\n]+[.!?]?)\s*$",
    re.IGNORECASE,
)
_MIN_WORDS = 2
#: "check why the import failed" asks "why the import failed": a look-into verb before a
#: question word adds nothing for routing (and pulls to agents whose examples "check" things).
_LOOK_INTO = re.compile(
    r"^\s*(?:please\s+)?(?:check|see|find\s+out|work\s+out|figure\s+out|look\s+into|"
    r"tell\s+me|let\s+me\s+know)\s+(?=(?:why|whether|how|when|where|who)\b)",
    re.IGNORECASE,
)


def question_of(text: str) -> str:
    """``text`` without a look-into verb before its question ("check why X failed" -> "why X
    failed"); unchanged otherwise."""
    return _LOOK_INTO.sub("", text, count=1) or text


@dataclass(frozen=True)
class Part:
    """One part of a request: ``route_text`` is what the router reads (the instruction of a
    payload, the question of "check why ..."), ``text`` what the agent gets."""

    route_text: str
    text: str
    #: Whether ``text`` carries pasted text after the instruction ("summarise this: ...").
    pasted: bool = False


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
        return [Part(question_of(h), h) for h in heads]
    payload, after = found.payload, []
    tail = _TRAILING.search(payload)
    if tail is not None and words(tail["rest"])[:1] and words(tail["rest"])[0] in starters:
        payload = payload[: tail.start() + 1].strip()
        after = find_parts(tail["rest"].strip(), starters)
    *first, last = heads
    parts = [Part(question_of(h), h) for h in first]
    parts.append(Part(last, Instruction(last, payload).text, pasted=True))
    return parts + after
