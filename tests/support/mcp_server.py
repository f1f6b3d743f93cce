"""A small real MCP server (FastMCP) for tests: ``python mcp_server.py [stdio|http PORT]``."""

from __future__ import annotations

import sys
import time

from mcp.server.fastmcp import FastMCP

server = FastMCP("kitchen", host="127.0.0.1", port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)


@server.tool()
def scale_recipe(servings: int, base_servings: int = 2) -> str:
    """How much to multiply a recipe by to go from base_servings to servings."""
    return f"multiply every ingredient by {servings / base_servings:g}"


@server.tool()
def slow_inventory() -> str:
    """Lists the pantry, slowly."""
    time.sleep(60)
    return "nothing"


if __name__ == "__main__":
    server.run("streamable-http" if sys.argv[1:2] == ["http"] else "stdio")
