"""The embedded offline chat model: deterministic, honest, and able to call tools.

It is a real :class:`~langchain_core.language_models.BaseChatModel`, so the graph, the agents and
users' own tests run with no network. It calls a bound tool when the request clearly asks for it
(the request shares the tool's distinctive words and every required argument can be read off the
request), otherwise answers from tool results and context, and always says that no language model
is configured. Small talk ("hey nova, how's it going?") gets a friendly reply
(:mod:`nova_graph.models.small_talk`) with the same notice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from nova_graph.models.binding import ToolSchemaChatModel
from nova_graph.models.offline_inputs import (
    entity_groups,
    row_arguments,
    upstream_inputs,
    upstream_rows,
)
from nova_graph.models.small_talk import small_talk_reply

OFFLINE_NOTICE = (
    "(offline mode: no language model is configured, so this answer comes from nova_graph's "
    "embedded offline model and the agent's tools; set OPENAI_API_KEY to use a real model)"
)

#: ``response_metadata`` key set (True) on the offline model's answers: the typed flag the graph
#: reads, so nothing searches answers for :data:`OFFLINE_NOTICE`.
OFFLINE_METADATA_KEY = "nova_offline"

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of to for in on at by and or is are be was it this that with from my our me "
    "please can could would you your i we us what whats which who how do does get show give "
    "list tell about all any some up new".split()
)
# A number standing alone: not the "1005" of a part code such as "SP-1005".
_NUMBER = re.compile(r"(?<![\w\-.])-?\d+(?:\.\d+)?(?![\w\-])")
#: A question opens with a question word or an auxiliary ("is it paid?", "has 1021 been paid?");
#: "can you / could you ..." is a polite request, not a question.
_QUESTION = re.compile(
    r"^\s*(?:(?:and|but|so|ok(?:ay)?|now|then)\b[\s,]*)*"
    r"(?:is|are|was|were|am|does|do|did|has|have|had|what|whats|what's|which|who|whom|whose|"
    r"when|where|why|how)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“']([^\"”']{1,500})[\"”']")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _words(text)}


class OfflineChatModel(ToolSchemaChatModel):
    """Deterministic chat model used when no OpenAI-compatible model is configured."""

    min_tool_overlap: int = 1

    @property
    def _llm_type(self) -> str:
        return "nova-offline"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = _last_request(messages)
        results = _tool_results_since_request(messages)
        chat = small_talk_reply(request) if not results else None
        if chat is not None:  # greetings and thanks need no tool and no language model
            reply = AIMessage(
                content=f"{chat}\n\n{OFFLINE_NOTICE}",
                response_metadata={OFFLINE_METADATA_KEY: True},
            )
            return ChatResult(generations=[ChatGeneration(message=reply)])
        inputs = upstream_inputs(messages)
        row_calls = self._row_calls(request, inputs) if inputs and self.bound_tools else []
        if len(results) < len(row_calls):  # one call per upstream item
            # Calls that pause for approval go one at a time (one approval per pause).
            step = 1 if "approval" in row_calls[0].get("_note", "") else len(row_calls)
            todo = row_calls[len(results) : len(results) + step]
            calls = [{k: v for k, v in c.items() if k != "_note"} for c in todo]
            msg = AIMessage(content="", tool_calls=calls)
            return ChatResult(generations=[ChatGeneration(message=msg)])
        if not results and not row_calls and self.bound_tools:
            call = self._choose_tool_call(request)
            if call is not None:
                msg = AIMessage(content="", tool_calls=[call])
                return ChatResult(generations=[ChatGeneration(message=msg)])
        return ChatResult(
            generations=[
                ChatGeneration(
                    message=AIMessage(
                        content=_answer(messages, results),
                        response_metadata={OFFLINE_METADATA_KEY: True},
                    )
                )
            ]
        )

    def _row_calls(self, request: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One call per item an upstream step listed, with the best tool that can take it."""
        groups = entity_groups(upstream_rows(inputs, request))
        if not groups:
            return []
        req = _stems(request)
        numbers = _NUMBER.findall(request)
        best: tuple[float, list[dict[str, Any]]] | None = None
        for i, schema in enumerate(self.bound_tools):
            if "needs a" in schema.get("description", "") and "model" in schema["description"]:
                continue  # this model cannot serve tools that need a language model
            name_words = {_stem(w) for w in schema["name"].lower().split("_") if w not in _STOP}
            desc_words = _stems(schema.get("description", "").split(".")[0])
            if not req & (name_words | desc_words):
                continue
            params = schema.get("parameters", {})
            calls = []
            for n, rows in enumerate(groups):
                args = row_arguments(params, rows, request, numbers)
                if args is not None:
                    note = schema.get("description", "")
                    calls.append(
                        {"name": schema["name"], "args": args, "id": f"call_{i}_{n}", "_note": note}
                    )
            score = 2 * len(req & name_words) + len(req & desc_words) - 0.01 * i
            if calls and (best is None or score > best[0]):
                best = (score, calls)
        return best[1] if best else []

    def _choose_tool_call(self, request: str) -> dict[str, Any] | None:
        req = _stems(request)
        question = is_question(request)
        best: tuple[float, dict[str, Any]] | None = None
        for i, schema in enumerate(self.bound_tools):
            if question and schema["name"] in self.write_tools:
                continue  # a question reads; it never changes data ("and is it paid?")
            name_words = {_stem(w) for w in schema["name"].lower().split("_") if w not in _STOP}
            desc_words = _stems(schema.get("description", "").split(".")[0])
            overlap = 2 * len(req & name_words) + len(req & desc_words)
            if len(req & (name_words | desc_words)) < self.min_tool_overlap:
                continue
            args = _fill_arguments(schema.get("parameters", {}), request)
            if args is None:
                continue
            score = overlap - 0.01 * i  # earlier tools win ties, deterministically
            if best is None or score > best[0]:
                call = {"name": schema["name"], "args": args, "id": f"call_{schema['name']}"}
                best = (score, call)
        return best[1] if best else None


def is_question(request: str) -> bool:
    """Whether ``request`` asks something ("is it paid?") rather than asks for a change."""
    return _QUESTION.match(request) is not None


def _last_request(messages: Sequence[BaseMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return m.text if hasattr(m, "text") else str(m.content)
    return ""


def _tool_results_since_request(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    out: list[ToolMessage] = []
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            break
        if isinstance(m, ToolMessage):
            out.append(m)
    return list(reversed(out))


def _fill_arguments(parameters: dict[str, Any], request: str) -> dict[str, Any] | None:
    """Read each required argument off the request; None when one cannot be read."""
    props: dict[str, Any] = parameters.get("properties", {})
    required = parameters.get("required", [])
    args: dict[str, Any] = {}
    numbers = _NUMBER.findall(request)
    quoted = _QUOTED.findall(request)
    for name in required:
        spec = props.get(name, {})
        kind = spec.get("type")
        if "enum" in spec:
            hit = next((v for v in spec["enum"] if str(v).lower() in request.lower()), None)
            if hit is None:
                return None
            args[name] = hit
        elif kind in ("integer", "number"):
            if not numbers:
                return None
            value = numbers.pop(0)
            args[name] = int(float(value)) if kind == "integer" else float(value)
        elif kind == "boolean":
            args[name] = True
        elif kind == "string" or kind is None:
            args[name] = quoted.pop(0) if quoted else _payload(request)
        else:
            return None
    return args


def _payload(request: str) -> str:
    """The part of a request a text tool should work on: after a colon when there is one."""
    _, sep, tail = request.partition(":")
    return tail.strip() if sep and tail.strip() else request.strip()


def _answer(messages: Sequence[BaseMessage], results: list[ToolMessage]) -> str:
    parts: list[str] = []
    for r in results:
        content = r.content if isinstance(r.content, str) else json.dumps(r.content)
        parts.append(f"Result of `{r.name}`:\n{content}")
    if not parts:
        context = _context_block(messages)
        parts.append(
            "I could not do this without a language model: none of my tools matches the request."
        )
        if context:
            parts.append(f"Relevant context I was given:\n{context}")
    parts.append(OFFLINE_NOTICE)
    return "\n\n".join(parts)


def _context_block(messages: Sequence[BaseMessage]) -> str:
    for m in messages:
        if isinstance(m, SystemMessage) and "<memories>" in str(m.content):
            text = str(m.content)
            return text[text.index("<memories>") : text.rindex("</memories>") + len("</memories>")]
    return ""
