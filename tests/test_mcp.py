"""Agents use tools of real MCP servers (FastMCP over stdio and HTTP); failures are reported."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from nova_graph import McpServerError, RosterError, build_graph
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

SERVER = str(Path(__file__).parent / "support" / "mcp_server.py")
ASK = "scale the soup for 6"


def _roster(server: dict[str, Any], tools: list[str]) -> Roster:
    agent = {
        "name": "recipes",
        "family": "kitchen",
        "description": "Scales recipes.",
        "examples": [ASK],
        "system_prompt": "You scale recipes.",
        "mcp_tools": {"kitchen": tools},
    }
    return Roster.from_data({"agents": [agent], "mcp_servers": {"kitchen": server}})


def _calls(tool: str, args: dict[str, Any]) -> FunctionChatModel:
    def reply(messages: list, tools: list) -> AIMessage:
        if messages[-1].type == "tool":
            return AIMessage(f"result: {messages[-1].content}")
        return AIMessage("", tool_calls=[{"name": tool, "args": args, "id": "c1"}])

    return FunctionChatModel(fn=reply)


def _ask(roster: Roster, model: FunctionChatModel) -> dict[str, Any]:
    graph = build_graph(
        roster=roster,
        router=TableRouter({ASK: RouteDecision(agents=["recipes"])}),
        checkpointer=False,
        model=model,
    )
    return graph.invoke({"messages": [HumanMessage(ASK)]})["results"]["recipes"]


STDIO = {"command": sys.executable, "args": [SERVER, "stdio"], "timeout_seconds": 20}


def test_an_agent_calls_a_tool_of_a_stdio_mcp_server() -> None:
    result = _ask(_roster(STDIO, ["scale_recipe"]), _calls("scale_recipe", {"servings": 6}))
    assert result["tool_calls"][0]["ok"]
    assert "multiply every ingredient by 3" in result["tool_calls"][0]["output"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the MCP HTTP server did not start within 20 s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()  # a slow tool call may still be sleeping: no graceful shutdown
        proc.wait(timeout=10)


def test_an_agent_calls_a_tool_of_a_streamable_http_mcp_server(http_url: str) -> None:
    server = {"url": http_url, "timeout_seconds": 10}
    result = _ask(_roster(server, ["scale_recipe"]), _calls("scale_recipe", {"servings": 4}))
    assert "multiply every ingredient by 2" in result["tool_calls"][0]["output"]


def test_a_slow_mcp_tool_is_a_reported_failed_call_not_a_hang(http_url: str) -> None:
    server = {"url": http_url, "timeout_seconds": 2}
    started = time.monotonic()
    result = _ask(_roster(server, ["slow_inventory"]), _calls("slow_inventory", {}))
    assert time.monotonic() - started < 15
    call = result["tool_calls"][0]
    assert not call["ok"]
    assert "did not answer within 2 s" in call["output"]


def test_a_server_that_is_down_is_a_typed_error_naming_agent_and_server() -> None:
    server = {"url": f"http://127.0.0.1:{_free_port()}/mcp", "timeout_seconds": 3}
    started = time.monotonic()
    with pytest.raises(McpServerError, match=r"agent 'recipes': MCP server 'kitchen'.*url"):
        _ask(_roster(server, ["scale_recipe"]), _calls("scale_recipe", {"servings": 2}))
    assert time.monotonic() - started < 12


def test_a_server_that_fails_to_start_is_a_typed_error() -> None:
    server = {
        "command": sys.executable,
        "args": ["-c", "raise SystemExit(3)"],
        "timeout_seconds": 5,
    }
    fix = r"check the server's command or url in the roster's mcp_servers"
    with pytest.raises(
        McpServerError, match=rf"agent 'recipes': MCP server 'kitchen' \(stdio\).*{fix}"
    ):
        _ask(_roster(server, ["scale_recipe"]), _calls("scale_recipe", {"servings": 2}))


def test_a_tool_the_server_does_not_offer_names_the_agent_and_the_offer() -> None:
    with pytest.raises(RosterError, match=r"agent 'recipes'.*'teleport'.*scale_recipe"):
        _ask(_roster(STDIO, ["teleport"]), _calls("teleport", {}))


def test_an_agent_may_only_use_servers_the_roster_declares() -> None:
    agent = {
        "name": "recipes",
        "family": "kitchen",
        "description": "Scales recipes.",
        "examples": [ASK],
        "system_prompt": "x",
        "mcp_tools": {"pantry": ["x"]},
    }
    with pytest.raises(RosterError, match=r"'recipes' uses MCP servers \['pantry'\]"):
        Roster.from_data({"agents": [agent]})
