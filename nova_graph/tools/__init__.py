"""Tools for agents: the context tool sets are built with, and resolving what a roster names.

Give ``build_graph`` your tools (``tools=[fn, BaseTool]``) or tool sets
(``toolsets=[make_tools]``, each ``make_tools(ctx) -> list[BaseTool]`` called with the graph's
:class:`ToolContext`); agents name them, or import paths ``package.module:attr``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from langchain_core.tools import BaseTool

from nova_graph.tools.context import ToolContext
from nova_graph.tools.registry import ToolRegistry, as_tool, resolve_tools, tool_registry

#: Builds tools bound to the graph's context (data directory, memory, model).
ToolSet = Callable[[ToolContext], Iterable[BaseTool]]

__all__ = ["ToolContext", "ToolRegistry", "ToolSet", "as_tool", "resolve_tools", "tool_registry"]
