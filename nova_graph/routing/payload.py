"""Instruction vs payload: "summarise this: <text>" is routed on "summarise this", never on the
text to work on, which goes to the agent whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COLON = re.compile(r":\s+|:(?=\n)")
#: A first line that points at pasted text below it ("translate the following", "fix this email").
_POINTS_AT = re.compile(
    r"\b(?:this|these|the\s+following|below|that\s+text|my\s+(?:text|email|message|draft))\b",
    re.IGNORECASE,
)
MAX_INSTRUCTION_WORDS = 24
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
