"""Nova's tools: each family module exposes ``make_tools(ctx) -> list[BaseTool]``.

Factories are lazy: building the tools touches no database or file until a tool runs.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from nova_app.tools import erp, general, language
from nova_app.tools.pipelines import tools as pipelines
from nova_graph.tools import ToolContext, ToolSet

#: Nova's tool sets, passed to ``build_graph(toolsets=...)``.
NOVA_TOOLSETS: tuple[ToolSet, ...] = (
    general.make_tools,
    language.make_tools,
    erp.make_tools,
    pipelines.make_tools,
)


def nova_tools(ctx: ToolContext | None = None) -> list[BaseTool]:
    """Every Nova tool, bound to ``ctx`` (default: an offline context)."""
    ctx = ctx if ctx is not None else ToolContext()
    return [t for make in NOVA_TOOLSETS for t in make(ctx)]


def tool_names() -> list[str]:
    """Names of all Nova tools."""
    return sorted(t.name for t in nova_tools())


__all__ = ["NOVA_TOOLSETS", "nova_tools", "tool_names"]
