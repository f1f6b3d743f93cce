"""Chat models for testing your own agents offline, without mocks (as pydantic-ai's FunctionModel).

``FunctionChatModel(fn)`` answers every call with ``fn(messages, tools)``, where ``tools`` are the
OpenAI-style schemas bound with ``bind_tools``. Return an ``AIMessage`` (with ``tool_calls`` to
call tools) or a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from nova_graph.models.binding import ToolSchemaChatModel

ModelFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], AIMessage | str]


class FunctionChatModel(ToolSchemaChatModel):
    """A chat model whose every reply is computed by a Python function."""

    fn: ModelFunction

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
        return ChatResult(generations=[ChatGeneration(message=message)])
