"""``InlineToolNode``: LangGraph's ``ToolNode`` without a new thread pool per tool call.

``ToolNode`` runs sync tool calls through a fresh ``ThreadPoolExecutor`` on every call, so each
call starts (and joins) a thread. Nova's agents already run on their own worker lane, so a
single tool call runs right there, in the agent's worker thread; several calls in one model
turn still run in parallel as ``ToolNode`` does.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.runtime import Runtime


class InlineToolNode(ToolNode):
    """A ``ToolNode`` that runs a lone sync tool call in the calling thread."""

    def _func(self, input: Any, config: RunnableConfig, runtime: Runtime) -> Any:
        tool_calls, input_type = self._parse_input(input)
        if len(tool_calls) != 1:
            return super()._func(input, config, runtime)
        call = tool_calls[0]
        tool_runtime = ToolRuntime(
            state=self._extract_state(input, config),
            tool_call_id=call["id"],
            config=config,
            context=runtime.context,
            store=runtime.store,
            stream_writer=runtime.stream_writer,
            tools=list(self.tools_by_name.values()),
            execution_info=runtime.execution_info,
            server_info=runtime.server_info,
        )
        output = self._run_one(call, input_type, tool_runtime)  # type: ignore[arg-type]
        return self._combine_tool_outputs([output], input_type)
