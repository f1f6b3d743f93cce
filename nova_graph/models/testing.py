"""Chat models for testing your own agents offline, without mocks (as pydantic-ai's FunctionModel).

``FunctionChatModel(fn)`` answers every call with ``fn(messages, tools)``, where ``tools`` are the
OpenAI-style schemas bound with ``bind_tools``. Return an ``AIMessage`` (with ``tool_calls`` to
call tools) or a string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

ModelFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], AIMessage | str]


class FunctionChatModel(BaseChatModel):
    """A chat model whose every reply is computed by a Python function."""

    fn: ModelFunction
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "nova-function"

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Return a copy that passes ``tools``' schemas to the function."""
        schemas = [convert_to_openai_tool(t)["function"] for t in tools]
        return self.model_copy(update={"bound_tools": schemas})

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
