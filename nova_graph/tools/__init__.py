"""The tool registry: every tool an agent may be given, built per graph from a ToolContext.

Each family module exposes ``make_tools(ctx) -> list[BaseTool]``. Factories are lazy: building
the tools touches no database or file until a tool runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from langchain_core.tools import BaseTool

from nova_graph.errors import RosterError
from nova_graph.tools.context import ToolContext

FAMILY_MODULES: tuple[str, ...] = (
    "nova_graph.tools.general",
    "nova_graph.tools.language",
    "nova_graph.tools.erp",
    "nova_graph.tools.pipelines.tools",
)


def build_tools(ctx: ToolContext) -> dict[str, BaseTool]:
    """Every registered tool, bound to ``ctx``, keyed by tool name."""
    out: dict[str, BaseTool] = {}
    for mod_name in FAMILY_MODULES:
        for t in import_module(mod_name).make_tools(ctx):
            if t.name in out:
                raise RosterError(f"two tools are named {t.name!r}; tool names must be unique")
            out[t.name] = t
    return out


def tool_names() -> list[str]:
    """Names of all registered tools."""
    return sorted(build_tools(ToolContext()))


def select_tools(registry: dict[str, BaseTool], names: Iterable[str]) -> list[BaseTool]:
    """The tools named ``names`` from ``registry``, in that order (unknown names are an error)."""
    chosen = []
    for name in names:
        if name not in registry:
            raise RosterError(f"unknown tool {name!r}; known tools: {sorted(registry)}")
        chosen.append(registry[name])
    return chosen


__all__ = ["FAMILY_MODULES", "ToolContext", "build_tools", "select_tools", "tool_names"]
