"""Split a request into the clauses that may each need a different agent.

Two kinds of boundary: *strong* ones (sentence breaks, ``;``, new lines, list items,
``, and also``, ``and then``) almost always separate requests, *weak* ones (a bare ``and``,
``plus``) usually do not ("what's the difference between a credit card and a debit card"). The
router decides whether to act on a split; this module only proposes where to cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRONG = re.compile(
    r"""
    (?:[.!?]+\s+(?:and\s+)?(?:then|also|after\s+that|next|finally|plus)?[,:]?\s*)  # sentence break
    | (?:\s*[;\n]+\s*(?:and\s+)?(?:then|also)?\s*)                        # ; or new line
    | (?:,?\s+and\s+(?:then|also)\s+)                                     # and then / and also
    | (?:,\s*(?:then|also|plus|after\s+that)\s+)                          # , then / , also
    | (?:\s+(?:as\s+well\s+as|after\s+that)\s+)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LIST_ITEM = re.compile(r"(?:^|(?<!\d)\s)(?:\d+[.)]|[-*•])\s+")  # not "17 * 23", "10 - 4"
_WEAK = re.compile(r"(?:,\s*|\s+)(?:and|plus)\s+", re.IGNORECASE)
_PAYLOAD = re.compile(r":\s+")  # "do X: <text>"; "3:30" and "https://" have no space after
_RESUME = re.compile(
    r"(?:[.!?;]\s+(?:and\s+)?(?:then|also|after\s+that|next|finally)[,:]?\s+)"
    r"|(?:,?\s+and\s+(?:then|also)\s+)",
    re.IGNORECASE,
)
_EDGE = re.compile(r"^[\s,.;:!?-]+|[\s,;:-]+$")
_MIN_CHARS = 3


@dataclass(frozen=True)
class Segment:
    """One strongly-delimited part of a request and its weak split candidates."""

    text: str
    weak_splits: tuple[tuple[str, str], ...]  # (left, right) for each bare "and"


def _clean(text: str) -> str:
    return _EDGE.sub("", text).strip()


def strong_segments(text: str) -> list[str]:
    """Cut ``text`` at strong boundaries (list items first), dropping empty pieces."""
    pieces: list[str] = []
    items = [p for p in _LIST_ITEM.split(text) if p.strip()]
    for item in items:
        pieces.extend(_STRONG.split(item))
    return [c for c in (_clean(p) for p in pieces) if len(c) >= _MIN_CHARS]


def weak_splits(segment: str) -> list[tuple[str, str]]:
    """Every way of cutting ``segment`` in two at a bare ``and`` / ``plus``."""
    out: list[tuple[str, str]] = []
    for match in _WEAK.finditer(segment):
        left, right = _clean(segment[: match.start()]), _clean(segment[match.end() :])
        if len(left) >= _MIN_CHARS and len(right) >= _MIN_CHARS:
            out.append((left, right))
    return out


def segment(text: str) -> list[Segment]:
    """The strong segments of ``text``, each with its weak split candidates.

    What follows a colon is the text to work on ("count the words: a, b and c", "turn these into
    tasks: - x - y"), so it is never cut, up to an explicit "and then" / ". Also" that starts
    the next request.
    """
    colon = _PAYLOAD.search(text)
    if colon is None:
        return [Segment(s, tuple(weak_splits(s))) for s in strong_segments(text)]
    head, rest = text[: colon.start()], text[colon.end() :]
    resume = _RESUME.search(rest)
    payload, tail = (rest[: resume.start()], rest[resume.end() :]) if resume else (rest, "")
    segs = segment(head)
    payload = payload.strip()
    if segs and payload:
        last = segs[-1]
        splits = tuple((left, f"{right}: {payload}") for left, right in last.weak_splits)
        segs[-1] = Segment(f"{last.text}: {payload}", splits)
    elif payload:
        segs = [Segment(payload, ())]
    return segs + (segment(tail) if tail.strip() else [])


def pieces_to_encode(segments: list[Segment]) -> list[str]:
    """Every distinct text the router must score to judge these segments."""
    texts: dict[str, None] = {}
    for seg in segments:
        texts[seg.text] = None
        for left, right in seg.weak_splits:
            texts[left] = None
            texts[right] = None
    return list(texts)
