"""MCP servers as tools, through the official ``mcp`` SDK: a command over stdio or a Streamable HTTP URL.

Each server gets one long-lived session per event loop, held open by a task of its own (the SDK's sessions
belong to the task that opens them) and reopened after it breaks. Turns call tools on it from their own
tasks, so a stop or a time limit cancels just that call. Tool lists are read when the server starts serving
(``refresh_all``, from the first request) and again once ``MCP_TOOLS_REFRESH_SECONDS`` old; a server that
cannot be reached is retried after ``MCP_RETRY_SECONDS``, and meanwhile its known tools fail with a clear
message rather than failing the turn.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from chat.domain.db import run_db
from chat.loops import for_running_loop
from chat.models import McpServer, api_key_from_env
from chat.tools.base import ToolError

logger = logging.getLogger(__name__)

_connections: dict[Any, Any] = {}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    name: str
    transport: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_model(cls, server: McpServer) -> McpServerConfig:
        return cls(
            name=server.name,
            transport=server.transport,
            command=server.command,
            args=tuple(server.args or ()),
            env=tuple(sorted((k, _expand(v)) for k, v in (server.env or {}).items())),
            url=server.url,
            headers=tuple(sorted((k, _expand(v)) for k, v in (server.headers or {}).items())),
        )


def _expand(value: str) -> str:
    """``${NAME}`` from the environment, for the names ``api_key_env`` may use; others stay as written."""

    def one(match: re.Match[str]) -> str:
        key = api_key_from_env(match.group(1))
        return key if key is not None else match.group(0)

    return _VARIABLE.sub(one, value)


@dataclass(slots=True)
class McpTool:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(slots=True)
class _Listing:
    tools: list[McpTool] = field(default_factory=list)
    read_at: float = 0.0
    failed_at: float = 0.0


class McpConnection:
    """One MCP server on the running event loop."""

    def __init__(self, config: McpServerConfig):
        self.config = config
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[Any] | None = None
        self._close = asyncio.Event()
        self._lock = asyncio.Lock()
        self.listing = _Listing()

    def _target(self) -> Any:
        from mcp.client.stdio import StdioServerParameters

        if self.config.transport == McpServer.Transport.HTTP:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            client = httpx2.AsyncClient(headers=dict(self.config.headers), timeout=settings.TOOLS_TIMEOUT)
            return streamable_http_client(self.config.url, http_client=client)
        return StdioServerParameters(
            command=self.config.command, args=list(self.config.args), env=dict(self.config.env)
        )

    async def _serve(self, ready: asyncio.Future[Any]) -> None:
        from mcp import Client

        try:
            async with Client(self._target(), read_timeout_seconds=settings.TOOLS_TIMEOUT) as client:
                self._client = client
                if not ready.done():
                    ready.set_result(client)
                await self._close.wait()
        except BaseException as error:  # the server could not start, or the session broke
            if not ready.done():
                ready.set_exception(error if isinstance(error, Exception) else ConnectionError("cancelled"))
            if not isinstance(error, asyncio.CancelledError):
                logger.warning("MCP server %s: session ended: %r", self.config.name, error)
        finally:
            self._client = None

    async def client(self) -> Any:
        """The open session, opening it (within ``MCP_CONNECT_TIMEOUT``) if it is not."""
        async with self._lock:
            if self._client is None or self._task is None or self._task.done():
                ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                self._close = asyncio.Event()
                self._task = asyncio.get_running_loop().create_task(self._serve(ready), name=f"mcp-{self.config.name}")
                try:
                    async with asyncio.timeout(settings.MCP_CONNECT_TIMEOUT):
                        return await asyncio.shield(ready)
                except TimeoutError:
                    self._close.set()
                    self._task.cancel()
                    raise ToolError(f"The tool server '{self.config.name}' did not answer in time.") from None
                except Exception as error:
                    raise ToolError(
                        f"The tool server '{self.config.name}' is not reachable ({_reason(error)})."
                    ) from None
            return self._client

    def reset(self) -> None:
        """Drop the session (it broke); the next call opens a new one."""
        self._close.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._client = None

    async def tools(self) -> list[McpTool]:
        """The server's tools: the last listing, refreshed when old; [] while it has never been reachable."""
        now = time.monotonic()
        listing = self.listing
        fresh = listing.read_at and now - listing.read_at < settings.MCP_TOOLS_REFRESH_SECONDS
        recently_failed = listing.failed_at and now - listing.failed_at < settings.MCP_RETRY_SECONDS
        if fresh or recently_failed:
            return listing.tools
        try:
            client = await self.client()
            async with asyncio.timeout(settings.MCP_CONNECT_TIMEOUT):
                result = await client.list_tools()
        except (ToolError, Exception) as error:
            logger.warning("MCP server %s: could not list tools: %s", self.config.name, _reason(error))
            listing.failed_at = now
            self.reset()
            return listing.tools
        listing.tools = [McpTool(t.name, t.description or "", dict(t.input_schema or {})) for t in result.tools]
        listing.read_at, listing.failed_at = now, 0.0
        return listing.tools

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's text result; ``ToolError`` when the server fails, is unreachable or reports an error."""
        client = await self.client()
        try:
            result = await client.call_tool(name, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.reset()
            raise ToolError(f"The tool server '{self.config.name}' failed: {_reason(error)}.") from None
        text = "\n".join(_text(block) for block in result.content).strip()
        if not text and result.structured_content is not None:
            import json

            text = json.dumps(result.structured_content, ensure_ascii=False)
        if result.is_error:
            raise ToolError(text or "The tool reported an error.")
        return text


def _text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind == "resource" and hasattr(block.resource, "text"):
        return str(block.resource.text)
    return f"[{kind} content]"


def _reason(error: BaseException) -> str:
    if isinstance(error, ToolError):
        return str(error)
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip()
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


def connection_for(config: McpServerConfig) -> McpConnection:
    return for_running_loop(_connections, config, lambda: McpConnection(config))


async def refresh_all() -> None:
    """Read the tool lists of every active server (the server does this when it starts serving)."""
    configs = await run_db(lambda: [McpServerConfig.from_model(s) for s in McpServer.objects.filter(is_active=True)])
    await asyncio.gather(*(connection_for(config).tools() for config in configs), return_exceptions=True)
