"""A tiny MCP server for the README's "Bring your own agents" example (stdio)."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("kitchen", log_level="WARNING")


@server.tool()
def scale_recipe(servings: int, base_servings: int = 2) -> str:
    """Scale a recipe written for base_servings people to servings people."""
    return f"multiply every ingredient by {servings / base_servings:g}"


if __name__ == "__main__":
    server.run("stdio")
