"""Greetings, thanks and other small talk the offline model can answer without a language model.

Only whole requests that are small talk are answered here (after the words of address such as
"hey nova," are taken off); anything with a task in it goes to the agents' tools as before.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"^\W*(?:(?:hey|hi|hello|yo|ok|okay|oh|so|well)\W+)?nova\b\W*", re.I)
_REPLIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), reply)
    for pattern, reply in (
        (
            r"how(?:'s| is| are)? (?:it going|you|things|you doing|are things|life)"
            r"|what'?s up|how do you do|you ok|how have you been|sup",
            "All good here, thanks for asking! I'm ready when you are: ask me about stock, "
            "orders, pipelines, writing or planning.",
        ),
        (
            r"(?:(?:good )?(?:morning|afternoon|evening|day)|hi|hello|hey|hiya|howdy|greetings|yo)"
            r"(?: there| all| everyone| team)?",
            "Hello! What can I do for you? I can check stock and orders, look at pipelines, "
            "help with writing and translation, and plan your work.",
        ),
        (
            r"(?:thanks|thank you|thx|ty|cheers|much appreciated)(?: (?:a lot|so much|very much))?"
            r"|(?:great|cool|nice|perfect|awesome|ok|okay)(?:,? thanks)?",
            "You're welcome! Anything else?",
        ),
        (
            r"(?:bye|goodbye|good night|see you|see ya|later|cya)(?: later| soon)?",
            "Goodbye! Your conversation is saved; pick it up again any time.",
        ),
        (
            r"who are you|what are you|what can you do|what do you do|help",
            "I'm Nova: a team of agents for inventory and orders (ERP), data pipelines, "
            "writing and language, and general planning. Tell me what you need.",
        ),
    )
)
_TRAILING = re.compile(r"[\s!?.,:;)(~*]+$")


def small_talk_reply(request: str) -> str | None:
    """A friendly reply when the whole of ``request`` is small talk, else ``None``."""
    text = _ADDRESS.sub("", request.strip())
    text = _TRAILING.sub("", text).strip()
    text = re.sub(r"\s+", " ", text.replace("’", "'"))
    if not text:  # "hey nova!" alone
        return _REPLIES[1][1]
    text = re.sub(r",?\s*nova$", "", text, flags=re.I)  # "thanks, nova"
    rest = re.sub(r"^(?:hey|hi|hello|yo)\b[\s,!]*(?=\S)", "", text, flags=re.I)  # "hi, thanks"
    for candidate in (text, rest):
        for pattern, reply in _REPLIES:
            if pattern.fullmatch(candidate):
                return reply
    return None
