"""Turn what a roster names into tools: registry names, import paths, functions, ``BaseTool``s."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from langchain_core.tools import BaseTool, tool

from nova_graph.errors import RosterError

ToolRegistry = dict[str, BaseTool]


def as_tool(obj: Any, *, agent: str = "?") -> BaseTool:
    """``obj`` as a LangChain tool: a ``BaseTool`` as is, a documented function wrapped."""
    if isinstance(obj, BaseTool):
        return obj
    if callable(obj):
        if not (getattr(obj, "__doc__", None) or "").strip():
            raise RosterError(
                f"agent {agent!r}: tool function {getattr(obj, '__name__', obj)!r} has no "
                "docstring; add one, the model reads it to decide when to call the tool"
            )
        return tool(obj)
    raise RosterError(
        f"agent {agent!r}: {obj!r} is not a tool; give a function, a LangChain BaseTool, "
        "a registry name or an import path 'package.module:attr'"
    )


def tool_registry(tools: Iterable[BaseTool | Callable[..., Any]]) -> ToolRegistry:
    """Tools keyed by name (two tools with one name are an error)."""
    out: ToolRegistry = {}
    for t in tools:
        bt = as_tool(t, agent="build_graph(tools=...)")
        if bt.name in out:
            raise RosterError(f"two tools are named {bt.name!r}; tool names must be unique")
        out[bt.name] = bt
    return out


def import_object(path: str, *, agent: str) -> Any:
    """The object at ``package.module:attribute`` (an error naming ``agent`` when it fails)."""
    module_name, _, attr = path.partition(":")
    fix = "check the spelling and that the package is installed or on sys.path"
    try:
        module = import_module(module_name)
    except Exception as exc:
        raise RosterError(
            f"agent {agent!r}: import path {path!r} does not import "
            f"({type(exc).__name__}: {exc}); {fix}"
        ) from None
    target: Any = module
    for part in attr.split("."):
        if not part or not hasattr(target, part):
            raise RosterError(
                f"agent {agent!r}: import path {path!r}: module {module_name!r} has no "
                f"attribute {attr!r}; {fix}"
            )
        target = getattr(target, part)
    return target


def resolve_tools(agent: str, refs: Iterable[Any], registry: ToolRegistry) -> list[BaseTool]:
    """An agent's tools, in order, from registry names, import paths, functions or tools."""
    chosen: list[BaseTool] = []
    for ref in refs:
        if isinstance(ref, str) and ":" in ref:
            chosen.append(as_tool(import_object(ref, agent=agent), agent=agent))
        elif isinstance(ref, str):
            if ref not in registry:
                raise RosterError(
                    f"agent {agent!r} names unknown tool {ref!r}; pass it to "
                    "build_graph(tools=[...]) or write its import path 'package.module:attr' "
                    f"(known tools: {sorted(registry)})"
                )
            chosen.append(registry[ref])
        else:
            chosen.append(as_tool(ref, agent=agent))
    return chosen
