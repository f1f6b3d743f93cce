"""Instruction vs payload: "summarise this: <text>" is routed on "summarise this", never on the
text to work on, which goes to the agent whole."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nova_graph.routing.cues import words

_COLON = re.compile(r":\s+|:(?=\n)")
#: A first line that points at pasted text below it ("translate the following", "fix this email").
_POINTS_AT = re.compile(
    r"\b(?:this|these|the\s+following|below|that\s+text|my\s+(?:text|email|message|draft))\b",
    re.IGNORECASE,
)
MAX_INSTRUCTION_WORDS = 24
#: An instruction verb settles the agent when this share of the roster examples it opens (or
#: whose product it names) belong to one agent; chosen on the dev payloads (0.6-0.8 agree).
VERB_SHARE = 0.7
#: Words before the verb that say nothing about the task.
_POLITE = frozenset({"please", "can", "could", "would", "you", "kindly", "just", "now"})
#: "draft a reply to ...": the word after "a"/"an" (or the next, after an adjective: "a short
#: reply") names what is made.
_LINKS = frozenset(
    "a an to for of from about on in with and or the this that these those it them my our".split()
)
_PRODUCT = re.compile(r"\b(?:a|an)\s+([a-z-]+)(?:\s+([a-z-]+))?", re.IGNORECASE)
_MIN_PASTED_CHARS = 40


@dataclass(frozen=True)
class Instruction:
    """A request split into what to do (``instruction``) and what to do it on (``payload``)."""

    instruction: str
    payload: str

    @property
    def text(self) -> str:
        """The whole request as the agent should receive it."""
        return f"{self.instruction}: {self.payload}"


def split_instruction(text: str) -> Instruction | None:
    """The instruction and payload of ``text``, or ``None`` when it carries no payload.

    Two forms: a short instruction, a colon and the text ("proofread this: teh cat"), or a short
    first line pointing at what follows on the next lines ("translate the following\\n<text>").
    """
    colon = _COLON.search(text)
    if colon is not None:
        head, body = text[: colon.start()].strip(), text[colon.end() :].strip()
        if head and body and "\n" not in head and len(head.split()) <= MAX_INSTRUCTION_WORDS:
            return Instruction(head, body)
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if (
        rest
        and len(rest) >= _MIN_PASTED_CHARS
        and len(first.split()) <= MAX_INSTRUCTION_WORDS
        and _POINTS_AT.search(first)
    ):
        return Instruction(first.rstrip(":"), rest)
    return None


def _stem(word: str) -> str:
    """The singular of a plural ("replies" stays apart from "reply"; only a final "s" goes, so
    "listing" never becomes "list")."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _products(text: str) -> list[str]:
    """What ``text`` asks to make: the noun after "a"/"an", past one adjective ("a to-do list",
    "a short reply"), stemmed."""
    found = []
    for m in _PRODUCT.finditer(text):
        nouns = [n.lower() for n in m.groups() if n and n.lower() not in _LINKS]
        if nouns:
            found.append(_stem(nouns[-1]))
    return found


class InstructionVerbs:
    """Which agent an instruction's verb names, learned from the roster examples: the examples
    a verb opens ("summarise ...", "proofread ...") and, for a verb no example opens, the
    examples that make a thing of that name ("draft a reply ..." for "reply to this")."""

    def __init__(self, examples: Mapping[str, Iterable[str]]):
        self.opens: dict[str, Counter[str]] = defaultdict(Counter)
        self.opens_two: dict[str, Counter[str]] = defaultdict(Counter)
        self.makes: dict[str, Counter[str]] = defaultdict(Counter)
        for agent, texts in examples.items():
            for text in texts:
                w = words(text)
                if w:
                    self.opens[_stem(w[0])][agent] += 1
                if len(w) > 1 and w[1] not in _LINKS:
                    self.opens_two[f"{_stem(w[0])} {w[1]}"][agent] += 1
                for noun in _products(text):
                    self.makes[noun][agent] += 1

    def agent(self, instruction: str) -> str | None:
        """The agent the instruction names, or ``None`` when the examples do not agree: its
        first two words ("order more ..."), else its verb ("proofread this"), else what it asks
        to make ("write a reply to this"), else what its verb names when no example opens with
        it ("reply to this")."""
        w = [v for v in words(instruction) if v not in _POLITE]
        if not w:
            return None
        verb = _stem(w[0])
        tried = [self.opens_two.get(f"{verb} {w[1]}")] if len(w) > 1 and w[1] not in _LINKS else []
        tried.append(self.opens.get(verb))
        tried += [self.makes.get(noun) for noun in _products(instruction)]
        if verb not in self.opens:
            tried.append(self.makes.get(verb))
        for counts in tried:
            if counts:
                agent, n = counts.most_common(1)[0]
                if n / sum(counts.values()) >= VERB_SHARE:
                    return agent
        return None
