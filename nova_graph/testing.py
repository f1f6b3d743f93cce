"""Test doubles for your own agents and graphs, offline and without mocks.

- ``FunctionChatModel(fn)`` (as pydantic-ai's FunctionModel) answers every call with
  ``fn(messages, tools)``, where ``tools`` are the OpenAI-style schemas bound with ``bind_tools``.
  Return an ``AIMessage`` (with ``tool_calls`` to call tools) or a string.
- ``TableRouter(table)`` routes by looking requests up in a table, to fix routing exactly.
- ``HashingEncoder()`` embeds text instantly by feature hashing, where semantics do not matter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult

from nova_graph.embeddings import Vectors
from nova_graph.models.binding import ToolSchemaChatModel
from nova_graph.routing.decision import RouteDecision

ModelFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], AIMessage | str]


class FunctionChatModel(ToolSchemaChatModel):
    """A chat model whose every reply is computed by a Python function."""

    fn: ModelFunction
    model_name: str = "nova-function"
    report_usage: bool = False

    @property
    def _llm_type(self) -> str:
        return "nova-function"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self.fn(list(messages), list(self.bound_tools))
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))
        if self.report_usage and message.usage_metadata is None:
            message = _with_usage(message, messages, self.model_name)
        return ChatResult(generations=[ChatGeneration(message=message)])


def word_tokens(message: BaseMessage) -> int:
    """The token count :class:`FunctionChatModel` reports for ``message``: its words (tool calls
    count their name and argument values)."""
    words = len(message.text.split()) if isinstance(message.text, str) else 0
    for call in getattr(message, "tool_calls", None) or []:
        words += 1 + sum(len(str(v).split()) for v in call["args"].values())
    return words


def _with_usage(message: AIMessage, prompt: list[BaseMessage], model_name: str) -> AIMessage:
    tokens_in = sum(word_tokens(m) for m in prompt)
    tokens_out = word_tokens(message)
    return message.model_copy(
        update={
            "usage_metadata": UsageMetadata(
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                total_tokens=tokens_in + tokens_out,
            ),
            "response_metadata": {**message.response_metadata, "model_name": model_name},
        }
    )


class TableRouter:
    """The ``Router`` protocol from a request → decision table (unknown: out of scope)."""

    def __init__(self, table: dict[str, RouteDecision]) -> None:
        self.table = table
        self.calls: list[str] = []

    def route(self, text: str) -> RouteDecision:
        self.calls.append(text)
        return self.table.get(text, RouteDecision(out_of_scope=True))


_TOKEN = re.compile(r"\w+")


class HashingEncoder:
    """Bag-of-words feature hashing into ``dimension`` dims, L2-normalised (instant, no model).

    Texts sharing words are close; identical texts have similarity 1. Satisfies
    :class:`nova_graph.embeddings.Encoder`.
    """

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in _TOKEN.findall(text.lower()) or [text]:
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "big")
                out[i, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            if norm == 0.0:
                out[i, 0], norm = 1.0, 1.0
            out[i] /= norm
        return out
