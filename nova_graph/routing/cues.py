"""What a request's words say about it: a follow-up cue, an anaphor, an action word, a referent."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")
#: Openings of a turn that continues the previous one ("and is it paid?", "what about May?").
FOLLOWUP_START = re.compile(
    r"^\s*(?:and|but|ok(?:ay)?,?\s+(?:and|now)|so|also|now|then|what\s+about|how\s+about|"
    r"same\s+(?:for|with|again)|just|only|except|instead|do\s+(?:that|it|the\s+same)|"
    r"put\s+(?:that|it|this)|send\s+(?:that|it|this)|make\s+(?:that|it)|is\s+it|are\s+they|"
    r"was\s+it|were\s+they|did\s+it|does\s+it|which\s+of\s+(?:them|those))\b",
    re.IGNORECASE,
)
#: Openings that carry no verb of their own ("and ...?", "what about ...?"): the previous
#: request's verb is implied.
_ELLIPSIS = re.compile(
    r"^\s*(?:and|or|also|ok(?:ay)?,?\s+(?:and|now)|now|then|what\s+about|how\s+about|"
    r"same\s+(?:for|with))\b",
    re.IGNORECASE,
)
_ANAPHOR = re.compile(
    r"\b(?:it|that|this|them|those|these|they|its|their|one|ones|same|again|instead|too|"
    r"there|him|her|both)\b",
    re.IGNORECASE,
)
#: A turn asking for the previous request again with a change ("do that again for last week",
#: "same for SP-1043", "another one"): the previous request's agent, whatever the change names.
_REPEAT = re.compile(
    r"\b(?:again|repeat|(?:do|run|try)\s+the\s+same|the\s+same\s+(?:for|with|but)|"
    r"same\s+(?:for|with|again)|another\s+one)\b",
    re.IGNORECASE,
)
#: A turn narrowing the previous answer ("just the overdue ones", "only those from Acme").
_NARROW = re.compile(
    r"^\s*(?:(?:and|but|ok(?:ay)?|now|so),?\s+)?(?:just|only|except|excluding|without|not)\b|"
    r"\b(?:the|those|these)\s+ones\b|\bwhich\s+of\s+(?:them|those|these)\b",
    re.IGNORECASE,
)
#: Words that join a turn to the previous one before its own verb ("and email it ...").
_CONNECTIVES = frozenset({"and", "but", "so", "also", "now", "then", "ok", "okay", "please"})
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.IGNORECASE)
_PRO_VERBS = frozenset({"do", "repeat", "try", "redo"})
_PRO_OBJECTS = frozenset({"that", "it", "this", "the", "same", "so"})
_STOP_STARTS = frozenset({"the", "a", "an", "my", "our", "this", "that", "and", "or", "i", "we"})
_REFERENT = re.compile(
    r"\b(?:[A-Z]{1,4}-?\d{2,}|\d{2,}(?:\.\d+)?(?:mm|cm|kg)?|"
    r"(?<![.!?]\s)(?<!^)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)\b"
)


#: A whole turn that only says yes to the previous one ("yes, go ahead", "ok do it").
_CONFIRM = re.compile(
    r"^\W*(?:(?:yes|yeah|yep|ok(?:ay)?|sure|fine|right|correct|please|go\s+ahead|"
    r"do\s+it|proceed|confirm(?:ed)?|approve(?:d)?|that'?s\s+(?:right|fine|correct)|"
    r"sounds\s+good)\W*)+$",
    re.IGNORECASE,
)
#: A turn correcting the previous request ("sorry, I meant 1189", "no wait, order 59",
#: "actually make that SP-1006"): opening words, then what replaces a value of it.
_CORRECTION = re.compile(
    r"^\W*(?:(?:sorry|no|nope|wait|actually|rather|oops|i\s+meant|i\s+mean|make\s+that|"
    r"change\s+(?:it|that)\s+to)\b[\s,.!]*)+",
    re.IGNORECASE,
)
#: "make it 60", "make it Thursday instead", "make it 9am": a new value for the previous request.
_NEW_VALUE = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|and|no|actually)[\s,]+)?(?:make|change|set)\s+(?:it|that)\s+"
    r"(?:to\s+)?(?:\d|[A-Z]{1,4}-?\d|(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    r"tomorrow\b|today\b|tonight\b|next\b|[^?]*\binstead\b)",
    re.IGNORECASE,
)
_VALUE_WORDS = 5
#: A whole turn of greetings, thanks, farewells or praise ("hello", "thanks a lot", "nice one",
#: "good night"): closed-class words, complete as they are, for no agent's task in particular.
_SOCIAL = re.compile(
    r"^\W*(?:ok(?:ay)?[\s,]+)?(?:(?:hello|hi|hey|hiya|howdy|greetings|"
    r"good\s+(?:morning|afternoon|evening|night|day)|morning|evening|night|bye|goodbye|good\s*bye|see\s+you(?:\s+(?:later|tomorrow|soon))?|"
    r"cheers|thanks|thank\s+you|thx|ta|many\s+thanks|much\s+appreciated|great|cool|"
    r"nice(?:\s+one)?|awesome|perfect|brilliant|lovely|excellent|no\s+worries|well\s+done|"
    r"good\s+job)(?:\s+(?:so\s+much|very\s+much|a\s+lot))?\W*)+$",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    """The words of ``text`` (letters, digits, apostrophes), lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """``word`` without a final "ing", "es", "s" or "ed" (when three letters remain)."""
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def starter_words(examples: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The words example requests open with ("show", "what", "run"): a request opening with one
    is a request, not a fragment. Learned from the roster, minus articles and pronouns."""
    found: set[str] = set()
    for texts in examples.values():
        for t in texts:
            w = words(t)
            if w and w[0] not in _STOP_STARTS:
                found.add(w[0])
    return frozenset(found)


def is_followup_cue(text: str) -> bool:
    """Whether ``text`` opens like a continuation ("and ...", "what about ...", "is it ...")."""
    return FOLLOWUP_START.match(text) is not None


def is_ellipsis(text: str) -> bool:
    """Whether ``text`` opens with no verb of its own ("and 1022?", "what about June?")."""
    return _ELLIPSIS.match(text) is not None


def is_repeat(text: str) -> bool:
    """Whether ``text`` asks for the previous request again ("do that again for May")."""
    return _REPEAT.search(text) is not None


def narrows(text: str) -> bool:
    """Whether ``text`` narrows the previous answer ("just the overdue ones")."""
    return _NARROW.search(text) is not None


def own_verb(text: str, starters: Collection[str]) -> bool:
    """Whether ``text``, past its joining words ("and", "now", "what about"), opens with a word
    requests open with (``starters``): "and email it to Acme" asks for something of its own;
    "do that again" stands for the previous request's verb."""
    if _ABOUT.match(text):
        return False  # "what about order 120?": a name follows, not a verb
    w = words(_ELLIPSIS.sub("", text, count=1))
    while w and w[0] in _CONNECTIVES:
        w = w[1:]
    if len(w) > 1 and w[0] in _PRO_VERBS and w[1] in _PRO_OBJECTS:
        return False  # "do that again", "do the same": the previous request's verb
    if len(w) == 2 and w[1].isdigit():
        return False  # "and run 31?", "and order 90?": a noun naming a thing, not a verb
    return bool(w) and w[0] in starters


def confirms(text: str) -> bool:
    """Whether ``text`` only says yes to the previous turn ("yes, go ahead", "ok do it")."""
    return _CONFIRM.match(text) is not None


def is_social(text: str) -> bool:
    """Whether ``text`` is only a greeting, thanks, farewell or praise ("hello", "thanks a
    lot", "nice one"): a whole request, never a fragment to ask back about."""
    return _SOCIAL.match(text) is not None


def corrects(text: str, starters: Collection[str]) -> bool:
    """Whether ``text`` gives the previous request a new value: a correction with no verb of
    its own ("sorry, I meant 1189", "no wait, order 59", "actually 92") or "make it 60"."""
    if _NEW_VALUE.match(text):
        return True
    m = _CORRECTION.match(text)
    if m is None or m.end() == 0:
        return False
    rest = text[m.end() :]
    return len(words(rest)) <= _VALUE_WORDS and not own_verb(rest, starters)


def has_anaphor(text: str) -> bool:
    """Whether ``text`` refers back ("it", "that", "those", "again", "same")."""
    return _ANAPHOR.search(text) is not None


def has_digit(text: str) -> bool:
    """Whether ``text`` names a number (an order, invoice, quantity, date)."""
    return any(c.isdigit() for c in text)


def referents(text: str, *, limit: int = 5) -> list[str]:
    """The things ``text`` names that a follow-up may refer to: ids, numbers, proper names."""
    seen: dict[str, None] = {}
    for m in _REFERENT.finditer(text):
        seen.setdefault(m.group(0), None)
    return list(seen)[:limit]


def referent_kinds(text: str) -> set[str]:
    """The kinds of thing ``text`` names: ``"number"`` (1043), ``"code"`` (SP-1042) or
    ``"name"`` (Acme Cleaning). "what about Bright Facilities?" after a question about Acme
    Cleaning swaps one name for another of the same kind."""
    kinds: set[str] = set()
    for r in referents(text):
        if r[0].isdigit():
            kinds.add("number")
        elif any(c.isdigit() for c in r):
            kinds.add("code")
        else:
            kinds.add("name")
    return kinds
