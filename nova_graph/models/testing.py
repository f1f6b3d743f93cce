"""Chat models for testing your own agents offline, without mocks (as pydantic-ai's FunctionModel).

``FunctionChatModel(fn)`` answers every call with ``fn(messages, tools)``, where ``tools`` are the
OpenAI-style schemas bound with ``bind_tools``. Return an ``AIMessage`` (with ``tool_calls`` to
call tools) or a string. With ``report_usage=True`` each reply reports token usage as a provider
would (``usage_metadata``: one token per whitespace-separated word in, and out) under
``model_name``, so cost and budgets can be tested offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult

from nova_graph.models.binding import ToolSchemaChatModel

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
