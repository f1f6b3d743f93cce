"""Language tools. With a configured model, the model writes (translate, summarise, proofread,
rewrite, draft, listing copy); offline, the model-free tools still work (counts, checks,
extraction, templates) and the model-backed ones say plainly that a model is needed."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool, tool

from nova_graph.errors import ToolError
from nova_graph.tools.context import ToolContext

MAX_TEXT = 20_000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")
_STOPWORDS = {
    "English": "the and is are of to in that it for with you this not be have".split(),
    "German": "der die das und ist nicht ich sie mit für auf ein eine zu den von".split(),
    "French": "le la les et est une des pour avec pas que qui dans sur vous nous".split(),
    "Spanish": "el la los las y es una para con por que del se su muy gracias".split(),
    "Dutch": "de het een en is van niet dat voor met op zijn wij jullie ook".split(),
    "Italian": "il lo gli e è una per con che non di della sono anche grazie".split(),
}
_MISSPELLINGS = {
    "recieve": "receive", "seperate": "separate", "definately": "definitely",
    "accomodate": "accommodate", "occured": "occurred", "untill": "until",
    "wich": "which", "teh": "the", "adress": "address", "buisness": "business",
    "calender": "calendar", "enviroment": "environment", "goverment": "government",
    "neccessary": "necessary", "occassion": "occasion", "reccomend": "recommend",
    "tommorow": "tomorrow", "truely": "truly", "publically": "publicly", "thier": "their",
}  # fmt: skip
_AREAS = {
    "frontend": {"page", "button", "form", "ui", "design", "css", "layout", "screen", "mobile"},
    "backend": {"api", "endpoint", "database", "server", "auth", "login", "webhook", "email"},
    "data": {"import", "export", "csv", "report", "migrate", "migration", "sync", "feed"},
    "testing": {"test", "tests", "qa", "check", "verify", "validate"},
    "operations": {"deploy", "backup", "monitor", "hosting", "domain", "ssl", "dns"},
}
_LISTING_TITLE_LIMIT = 80


def _require_text(text: str, what: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ToolError(f"the {what} is empty; paste the text to work on after a colon")
    if len(text) > MAX_TEXT:
        raise ToolError(f"the {what} is {len(text)} characters; split it below {MAX_TEXT}")
    return text.strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def _fields(text: str) -> dict[str, str]:
    """'title: Shopfront sign; size: 2m x 0.5m, price: 240' -> mapping of lower-case keys."""
    out: dict[str, str] = {}
    for part in re.split(r"[;\n]|,(?=\s*[A-Za-z ]{2,20}:)", text):
        key, sep, value = part.partition(":")
        if sep and key.strip() and value.strip():
            out[key.strip().lower()] = value.strip()
    return out


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The language family's tools."""

    def model_or_none() -> Any:
        from nova_graph.models import is_offline

        model = ctx.model
        return None if model is None or is_offline(model) else model

    def with_model(task: str, instructions: str, text: str) -> str:
        model = model_or_none()
        if model is None:
            return (
                f"{task} needs a language model, and none is configured (offline mode). "
                "Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL / NOVA_MODEL) to enable it."
            )
        reply = model.invoke([SystemMessage(instructions), HumanMessage(text)])
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        return content.strip()

    # --- translator --------------------------------------------------------------------------
    @tool
    def translate_text(text: str, target_language: str = "English") -> str:
        """Translate text into another language (needs a language model)."""
        body = _require_text(text)
        return with_model(
            "Translation",
            f"Translate the user's text into {target_language}. Keep meaning, tone and "
            "formatting. Reply with the translation only.",
            body,
        )

    @tool
    def detect_language(text: str) -> str:
        """Detect which language a text is written in (English, German, French, Spanish...)."""
        words = [w.lower() for w in _WORD.findall(_require_text(text))]
        scores = {lang: sum(w in set(stops) for w in words) for lang, stops in _STOPWORDS.items()}
        best = max(scores, key=lambda k: scores[k])
        if scores[best] == 0:
            return "I cannot tell the language: no common words of the languages I know."
        share = scores[best] / max(len(words), 1)
        return f"Probably {best} ({scores[best]} common {best} words, {share:.0%} of the text)."

    # --- summarizer --------------------------------------------------------------------------
    @tool
    def summarize_text(text: str) -> str:
        """Summarise (condense) a text into a short abstract (needs a language model)."""
        return with_model(
            "Summarising",
            "Summarise the user's text in at most five sentences, faithfully.",
            _require_text(text),
        )

    @tool
    def key_sentences(text: str, count: int = 3) -> str:
        """Pick the key sentences of a text (extractive summary, no model needed)."""
        sentences = _sentences(_require_text(text))
        if len(sentences) <= count:
            return "\n".join(f"- {s}" for s in sentences)
        freq = Counter(w.lower() for w in _WORD.findall(text) if len(w) > 3)
        scored = [
            (sum(freq[w.lower()] for w in _WORD.findall(s)) / (1 + len(s.split())) ** 0.5, i)
            for i, s in enumerate(sentences)
        ]
        chosen = sorted(i for _, i in sorted(scored, reverse=True)[: max(1, count)])
        return "\n".join(f"- {sentences[i]}" for i in chosen)

    @tool
    def word_count(text: str) -> str:
        """Count words, characters and sentences in a text."""
        words = len(text.split())
        sentences = len(_sentences(text)) if text.strip() else 0
        return f"{words} words, {len(text)} characters, {sentences} sentences"

    # --- proofreader -------------------------------------------------------------------------
    @tool
    def proofread_text(text: str) -> str:
        """Proofread and correct grammar and spelling of a text (needs a language model)."""
        return with_model(
            "Proofreading",
            "Correct spelling, grammar and punctuation. Keep the wording otherwise unchanged. "
            "Reply with the corrected text, then a short list of the changes.",
            _require_text(text),
        )

    @tool
    def spelling_checks(text: str) -> str:
        """Check a text for common spelling mistakes, repeated words and punctuation slips."""
        body = _require_text(text)
        issues = []
        for wrong, right in _MISSPELLINGS.items():
            for m in re.finditer(rf"\b{wrong}\b", body, re.IGNORECASE):
                issues.append(f"'{m[0]}' -> '{right}'")
        for m in re.finditer(r"\b(\w+)\s+\1\b", body, re.IGNORECASE):
            issues.append(f"repeated word '{m[1]}'")
        if "  " in body:
            issues.append("double space")
        for s in _sentences(body):
            if s[0].isalpha() and s[0].islower():
                issues.append(f"sentence starts lower-case: '{s[:30]}'")
        if body[-1] not in ".!?\"')":
            issues.append("text does not end with punctuation")
        if not issues:
            return "No common mistakes found (a language model would catch more)."
        return f"{len(issues)} issues:\n" + "\n".join(f"- {i}" for i in issues)

    # --- tone --------------------------------------------------------------------------------
    @tool
    def rewrite_tone(text: str, tone: str = "friendly") -> str:
        """Rewrite a text in another tone (friendlier, more formal, firmer; needs a model)."""
        return with_model(
            "Rewriting the tone",
            f"Rewrite the user's text in a {tone} tone. Keep every fact. Reply with the text only.",
            _require_text(text),
        )

    @tool
    def readability_score(text: str) -> str:
        """Score how readable (and how formal or casual) a text is: Flesch reading ease."""
        body = _require_text(text)
        words = _WORD.findall(body)
        sentences = max(1, len(_sentences(body)))
        syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w.lower()))) for w in words)
        n = max(1, len(words))
        ease = 206.835 - 1.015 * (n / sentences) - 84.6 * (syllables / n)
        band = "easy" if ease >= 70 else "plain" if ease >= 50 else "difficult"
        casual = sum(w.lower() in {"hey", "thanks", "cheers", "awesome", "great"} for w in words)
        return (
            f"Flesch reading ease {ease:.0f} ({band}); {n / sentences:.1f} words per sentence; "
            f"{casual} casual words."
        )

    # --- email -------------------------------------------------------------------------------
    @tool
    def draft_email(request: str) -> str:
        """Draft a complete email from a short description of its purpose (needs a model)."""
        return with_model(
            "Drafting an email",
            "Write a clear, polite email for the user's purpose: subject line, greeting, body, "
            "sign-off. Keep it under 200 words.",
            _require_text(request, "request"),
        )

    @tool
    def email_template(details: str) -> str:
        """Fill an email template (subject, greeting, points, sign-off) from the details given."""
        body = _require_text(details, "details")
        fields = _fields(body)
        to = fields.get("to")
        if to is None and (
            m := re.search(r"\bto ([A-Z][\w&' .-]{1,40}?)(?= about| re\b|,|$)", body)
        ):
            to = m[1].strip()
        subject = fields.get("subject") or fields.get("about")
        if subject is None and (m := re.search(r"\babout (.{3,80}?)(?:[.,;]|$)", body)):
            subject = m[1].strip()
        points = [p.strip() for p in re.split(r"[;\n]", fields.get("points", "")) if p.strip()]
        lines = [
            f"Subject: {subject or '[subject]'}",
            "",
            f"Hi {to or '[name]'},",
            "",
            f"I'm writing about {subject or '[purpose]'}.",
        ]
        lines += [f"- {p}" for p in points] or ["- [main point]", "- [what you need from them]"]
        lines += ["", "Let me know if you have any questions.", "", "Best regards,", "[your name]"]
        return "\n".join(lines)

    # --- requirements to tasks ---------------------------------------------------------------
    def task_lines(text: str) -> list[str]:
        lines = [m.group(1) for line in text.splitlines() if (m := _BULLET.match(line))]
        return lines or [s.rstrip(".") for s in _sentences(text)]

    @tool
    def extract_tasks(text: str) -> str:
        """Turn requirements text into a structured task list: one task per bullet/sentence."""
        lines = task_lines(_require_text(text, "requirements"))
        return "\n".join(f"{i}. [ ] {t}" for i, t in enumerate(lines, start=1))

    @tool
    def group_tasks_by_area(text: str) -> str:
        """Group requirement tasks by area (frontend, backend, data, testing, operations)."""
        groups: dict[str, list[str]] = {}
        for t in task_lines(_require_text(text, "requirements")):
            words = {w.lower() for w in _WORD.findall(t)}
            area = next((a for a, keys in _AREAS.items() if words & keys), "other")
            groups.setdefault(area, []).append(t)
        return "\n".join(
            f"{area}:\n" + "\n".join(f"  - [ ] {t}" for t in tasks)
            for area, tasks in groups.items()
        )

    # --- marketplace listings ----------------------------------------------------------------
    @tool
    def write_listing_copy(product: str) -> str:
        """Write persuasive marketplace listing copy for a sign or product (needs a model)."""
        return with_model(
            "Writing listing copy",
            "Write a Find a Sign marketplace listing: a title under 80 characters, three benefit "
            "bullets, and a short description. Use only facts the user gives.",
            _require_text(product, "product details"),
        )

    @tool
    def listing_template(details: str) -> str:
        """Fill the marketplace listing template from fields like 'title: ..; price: ..'."""
        fields = _fields(_require_text(details, "details"))
        if not fields:
            raise ToolError(
                "no fields found; give them as 'title: ...; material: ...; size: ...; price: ...'"
            )
        title = fields.pop("title", fields.pop("product", "[title]"))
        warn = ""
        if len(title) > _LISTING_TITLE_LIMIT:
            warn = f"\n(title is {len(title)} characters; the limit is {_LISTING_TITLE_LIMIT})"
        price = fields.pop("price", "[price]")
        bullets = [f"- {k.capitalize()}: {v}" for k, v in fields.items()] or ["- [feature]"]
        return f"TITLE: {title}\nPRICE: {price}\nFEATURES:\n" + "\n".join(bullets) + warn

    return [
        translate_text, detect_language, summarize_text, key_sentences, word_count,
        proofread_text, spelling_checks, rewrite_tone, readability_score, draft_email,
        email_template, extract_tasks, group_tasks_by_area, write_listing_copy, listing_template,
    ]  # fmt: skip
