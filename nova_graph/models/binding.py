"""Tool binding shared by nova_graph's own chat models: keep the bound tools' schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from nova_graph.tools.approval import needs_approval


class ToolSchemaChatModel(BaseChatModel):
    """A chat model whose ``bind_tools`` returns a copy holding the tools' OpenAI schemas."""

    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    #: Names of the bound tools that change data (declared with ``writes``: need approval).
    write_tools: frozenset[str] = frozenset()

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Return a copy of this model that may call ``tools``."""
        schemas = [convert_to_openai_tool(t)["function"] for t in tools]
        writing = frozenset(s["name"] for t, s in zip(tools, schemas, strict=True) if _writes(t))
        return self.model_copy(update={"bound_tools": schemas, "write_tools": writing})


def _writes(tool: Any) -> bool:
    """Whether ``tool`` changes data: declared so, or described as needing approval."""
    if isinstance(tool, BaseTool):
        return needs_approval(tool) or "needs approval" in (tool.description or "")
    return False
