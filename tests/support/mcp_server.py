"""A small MCP server, written with the official SDK, for the tests: stdio by default, Streamable HTTP with
``--http --port N``.

Tools: ``add`` (two numbers), ``shout`` (text in capitals), ``wait`` (sleeps, to test time limits and stops)
and ``broken`` (always reports an error).
"""

from __future__ import annotations

import argparse
import asyncio

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("test-tools")


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    total = a + b
    return str(int(total)) if total == int(total) else str(total)


@server.tool()
def shout(text: str) -> str:
    """The text in capital letters."""
    return text.upper()


@server.tool()
async def wait(seconds: float) -> str:
    """Wait this many seconds, then say so."""
    await asyncio.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def broken() -> str:
    """Always fails."""
    raise ToolError("this tool always fails")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.port)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
