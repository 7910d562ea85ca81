"""Any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp server, OpenRouter) over pooled httpx.

Requests go through ``httpx`` (its API, timeouts, proxies from the environment and TLS settings) with
aiohttp's transport underneath (``httpx-aiohttp``): a relayed token costs about a quarter of the CPU of
httpx's own transport, which is what decides how many streams one server process can carry
(``bench/concurrency.py``).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient

from chat.llm import errors
from chat.llm.base import LLMChunk, LLMProvider, LLMRequest, ProviderConfig, ToolCallDelta, Usage
from chat.loops import for_running_loop

_STATUS_ERRORS: dict[int, type[errors.LLMError]] = {
    401: errors.UpstreamAuthError,
    403: errors.UpstreamAuthError,
    404: errors.UpstreamModelNotFound,
    429: errors.UpstreamRateLimited,
}


def map_http_error(error: httpx.HTTPError, *, read_timeout: float) -> errors.LLMError:
    """The one place where transport failures become domain errors.

    With the aiohttp transport the httpx exception wraps aiohttp's, which says more precisely what
    happened (a server that hung up mid-reply is not one that could not be reached), so that decides first.
    """
    cause = error.__cause__
    detail = f"{type(cause or error).__name__}: {cause or error}"
    timed_out = errors.UpstreamTimeout(f"The model server sent nothing for {read_timeout:g} seconds.", detail=detail)
    if isinstance(cause, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return errors.UpstreamUnavailable(detail=detail)
    if isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return timed_out
    if isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return errors.UpstreamDisconnected(detail=detail)
    if isinstance(error, httpx.ConnectTimeout | httpx.ConnectError):
        return errors.UpstreamUnavailable(detail=detail)
    if isinstance(error, httpx.TimeoutException):
        return timed_out
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return errors.UpstreamDisconnected(detail=detail)
    return errors.LLMError(detail=detail)


def _status_error(status: int, body: bytes) -> errors.LLMError:
    detail = f"HTTP {status}: {body[:500].decode(errors='replace')}"
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status](detail=detail)
    if status >= 500:
        return errors.UpstreamServerError(f"The model server had an internal error (HTTP {status}).", detail=detail)
    return errors.LLMError(f"The model server rejected the request (HTTP {status}).", detail=detail)


def parse_chunk(data: str | bytes) -> LLMChunk:
    """One ``data:`` payload of an OpenAI ``chat.completion.chunk`` stream."""
    try:
        payload = json.loads(data)
        choices = payload.get("choices") or []
        usage = payload.get("usage")
    except (ValueError, AttributeError):
        raise errors.UpstreamProtocolError(detail=f"Unparseable chunk: {data[:200]!r}") from None
    if "error" in payload and not choices:
        message = (payload["error"] or {}).get("message", "") if isinstance(payload["error"], dict) else ""
        raise errors.UpstreamServerError(detail=f"Error chunk: {message or payload['error']}")
    chunk = LLMChunk()
    if choices:
        choice = choices[0]
        delta = choice.get("delta") or {}
        chunk.content = delta.get("content") or ""
        chunk.reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        chunk.finish_reason = choice.get("finish_reason")
        if calls := delta.get("tool_calls"):
            chunk.tool_calls = [_tool_call_delta(call, n) for n, call in enumerate(calls)]
    if usage:
        chunk.usage = Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return chunk


def _tool_call_delta(call: Any, position: int) -> ToolCallDelta:
    if not isinstance(call, dict):
        raise errors.UpstreamProtocolError(detail=f"Unparseable tool call delta: {call!r:.200}")
    function = call.get("function") or {}
    index = call.get("index")
    return ToolCallDelta(
        index=index if isinstance(index, int) else position,
        id=call.get("id") or None,
        name=function.get("name") or None,
        arguments=function.get("arguments") or "",
    )


class _EventStream:
    """Splits the bytes of a ``chat.completion.chunk`` event stream into chunks, as they arrive."""

    def __init__(self) -> None:
        self.done = self.finished = False
        self._buffer = b""

    def feed(self, piece: bytes) -> Iterator[LLMChunk]:
        """The chunks completed by ``piece``; a generator, so chunks before a bad line still get through."""
        self._buffer += piece
        if b"\n" not in piece:
            return
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if self.done or not line.startswith(b"data:"):
                continue  # Comments, blank lines; after [DONE], read on so the connection can be reused.
            data = line[5:].strip()
            if data == b"[DONE]":
                self.done = True
                continue
            chunk = parse_chunk(data)
            self.finished = self.finished or chunk.finish_reason is not None
            yield chunk


class _NoCookies(http.cookiejar.CookieJar):
    """Requests to a model server carry their credentials in headers; httpx would otherwise run every
    response through the standard library's cookie parsing, a few percent of a turn's CPU."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


class OpenAIProvider(LLMProvider):
    """Streams ``/chat/completions`` from one upstream base URL over one pooled ``httpx.AsyncClient``."""

    _instances: dict[Any, Any] = {}  # (loop id, config) -> (loop, provider)

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.completions_url = httpx.URL(f"{self.base_url}/chat/completions")  # parsed once, not per turn
        timeout = httpx.Timeout(
            connect=config.connect_timeout, read=config.read_timeout, write=30.0, pool=config.connect_timeout
        )
        limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=100)
        self.client = HttpxAiohttpClient(timeout=timeout, limits=limits, cookies=_NoCookies())

    @classmethod
    def shared(cls, config: ProviderConfig) -> OpenAIProvider:
        # Pooled connections belong to the event loop that opened them.
        return for_running_loop(cls._instances, config, lambda: cls(config), lambda p: not p.client.is_closed)

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = request.stop
        if request.tools:
            body["tools"] = request.tools
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
            if request.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = request.parallel_tool_calls
        body.update(request.extra)
        return body

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        # An event stream gains little from compression, and uncompressed bytes can be split into lines
        # here directly, without httpx's decoding layers in between (one pass per token).
        headers = {"Accept-Encoding": "identity"}
        if request.api_key:
            headers["Authorization"] = f"Bearer {request.api_key}"
        try:
            async with self.client.stream(
                "POST", self.completions_url, json=self.build_body(request), headers=headers
            ) as response:
                if response.status_code >= 400:
                    raise _status_error(response.status_code, await response.aread())
                encoded = response.headers.get("content-encoding", "identity") != "identity"
                events = _EventStream()
                async for piece in response.aiter_bytes() if encoded else response.aiter_raw():
                    for chunk in events.feed(piece):
                        yield chunk
                for chunk in events.feed(b"\n"):  # a last line without its newline
                    yield chunk
        except httpx.HTTPError as error:
            raise map_http_error(error, read_timeout=self.config.read_timeout) from error
        if not (events.done or events.finished):
            raise errors.UpstreamDisconnected(detail="The stream ended without a finish reason or [DONE].")

    async def aclose(self) -> None:
        await self.client.aclose()
