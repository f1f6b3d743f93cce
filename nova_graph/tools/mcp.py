"""Tools from MCP servers the roster declares, through ``langchain-mcp-adapters``.

Each tool call opens its own session (a stdio server is started per call), bounded by the
server's ``timeout_seconds``: a server that is down or slow becomes a :class:`McpServerError`
(at build time) or a failed tool call the agent reports, never a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool

from nova_graph.errors import McpServerError, RosterError
from nova_graph.roster import AgentSpec, McpServer

T = TypeVar("T")
#: Extra seconds a worker thread gets to clean up after its own deadline passed.
_GRACE_SECONDS = 5.0


def connection(server: McpServer) -> dict[str, Any]:
    """The ``langchain-mcp-adapters`` connection for ``server``."""
    if server.command is not None:
        conn: dict[str, Any] = {
            "transport": "stdio",
            "command": server.command,
            "args": server.args,
        }
        if server.env is not None:
            conn["env"] = server.env
        return conn
    wait = timedelta(seconds=server.timeout_seconds)
    return {"transport": "streamable_http", "url": server.url, "timeout": wait}


def run_bounded(factory: Callable[[], Awaitable[T]], seconds: float, what: str) -> T:
    """Run the coroutine ``factory()`` on its own event loop, at most ``seconds`` long."""

    async def bounded() -> T:
        return await asyncio.wait_for(factory(), seconds)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nova-mcp")
    try:
        return pool.submit(asyncio.run, bounded()).result(timeout=seconds + _GRACE_SECONDS)
    except (TimeoutError, FutureTimeout):
        raise McpServerError(
            f"{what} did not answer within {seconds:g} s; check that the server runs, "
            "or raise its timeout_seconds in the roster"
        ) from None
    except McpServerError:
        raise
    except Exception as exc:
        raise McpServerError(
            f"{what} failed ({type(exc).__name__}: {_first_cause(exc)}); check the server's "
            "command or url in the roster's mcp_servers and that it starts on its own"
        ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _first_cause(exc: BaseException) -> str:
    """The innermost message of an exception group (anyio wraps transport errors in them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__


def server_tools(name: str, server: McpServer) -> dict[str, BaseTool]:
    """The tools ``server`` offers, keyed by name, each call bounded by its timeout."""
    from langchain_mcp_adapters.tools import load_mcp_tools

    conn = connection(server)
    listed = run_bounded(
        lambda: load_mcp_tools(None, connection=conn),  # type: ignore[arg-type]
        server.timeout_seconds,
        f"MCP server {name!r} ({server.transport})",
    )
    return {t.name: _bounded_tool(name, server, t) for t in listed}


def _bounded_tool(server_name: str, server: McpServer, inner: BaseTool) -> BaseTool:
    what = f"MCP server {server_name!r} (tool {inner.name!r})"

    async def acall(**kwargs: Any) -> Any:
        try:
            return _text(await asyncio.wait_for(inner.ainvoke(kwargs), server.timeout_seconds))
        except TimeoutError:
            raise McpServerError(
                f"{what} did not answer within {server.timeout_seconds:g} s"
            ) from None

    def call(**kwargs: Any) -> Any:
        return _text(run_bounded(lambda: inner.ainvoke(kwargs), server.timeout_seconds, what))

    return StructuredTool(
        name=inner.name,
        description=inner.description,
        args_schema=inner.args_schema or {},
        func=call,
        coroutine=acall,
    )


def _text(content: Any) -> Any:
    """MCP content blocks that are all text, as one string (what a model reads best)."""
    if isinstance(content, list) and all(
        isinstance(b, dict) and b.get("type") == "text" for b in content
    ):
        return "\n".join(str(b.get("text", "")) for b in content)
    return content


def agent_mcp_tools(
    agents: Iterable[AgentSpec], servers: Mapping[str, McpServer]
) -> dict[str, list[BaseTool]]:
    """Each agent's MCP tools (only those its ``mcp_tools`` lists); each server listed once."""
    offered: dict[str, dict[str, BaseTool]] = {}
    out: dict[str, list[BaseTool]] = {}
    for spec in agents:
        chosen: list[BaseTool] = []
        for server_name, names in spec.mcp_tools.items():
            if server_name not in offered:
                try:
                    offered[server_name] = server_tools(server_name, servers[server_name])
                except McpServerError as exc:
                    raise McpServerError(f"agent {spec.name!r}: {exc}") from None
            tools = offered[server_name]
            for tool_name in names:
                if tool_name not in tools:
                    raise RosterError(
                        f"agent {spec.name!r} lists tool {tool_name!r} that MCP server "
                        f"{server_name!r} does not offer (it offers {sorted(tools)}); "
                        "fix the agent's mcp_tools"
                    )
                chosen.append(tools[tool_name])
        out[spec.name] = chosen
    return out
