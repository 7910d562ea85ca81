"""Any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp server, OpenRouter) over pooled httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from chat import exceptions as exc
from chat.llm.base import LLMChunk, LLMProvider, LLMRequest, Usage

if TYPE_CHECKING:
    from chat.models import ChatModel

_STATUS_ERRORS: dict[int, type[exc.LLMError]] = {
    401: exc.UpstreamAuthError,
    403: exc.UpstreamAuthError,
    404: exc.UpstreamModelNotFound,
    429: exc.UpstreamRateLimited,
}


def _timeout() -> httpx.Timeout:
    connect = settings.LLM_CONNECT_TIMEOUT
    return httpx.Timeout(connect=connect, read=settings.LLM_READ_TIMEOUT, write=30.0, pool=connect)


def map_http_error(error: httpx.HTTPError) -> exc.LLMError:
    """The one place where transport failures become domain errors."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, httpx.ConnectTimeout | httpx.ConnectError):
        return exc.UpstreamUnavailable(detail=detail)
    if isinstance(error, httpx.TimeoutException):
        return exc.UpstreamTimeout(
            f"The model server sent nothing for {settings.LLM_READ_TIMEOUT:g} seconds.", detail=detail
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return exc.UpstreamDisconnected(detail=detail)
    return exc.LLMError(detail=detail)


def _status_error(status: int, body: bytes) -> exc.LLMError:
    detail = f"HTTP {status}: {body[:500].decode(errors='replace')}"
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status](detail=detail)
    if status >= 500:
        return exc.UpstreamServerError(f"The model server had an internal error (HTTP {status}).", detail=detail)
    return exc.LLMError(f"The model server rejected the request (HTTP {status}).", detail=detail)


def parse_chunk(data: str) -> LLMChunk:
    """One ``data:`` payload of an OpenAI ``chat.completion.chunk`` stream."""
    try:
        payload = json.loads(data)
        choices = payload.get("choices") or []
        usage = payload.get("usage")
    except (ValueError, AttributeError):
        raise exc.UpstreamProtocolError(detail=f"Unparseable chunk: {data[:200]!r}") from None
    if "error" in payload and not choices:
        message = (payload["error"] or {}).get("message", "") if isinstance(payload["error"], dict) else ""
        raise exc.UpstreamServerError(detail=f"Error chunk: {message or payload['error']}")
    chunk = LLMChunk()
    if choices:
        choice = choices[0]
        delta = choice.get("delta") or {}
        chunk.content = delta.get("content") or ""
        chunk.reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        chunk.finish_reason = choice.get("finish_reason")
    if usage:
        chunk.usage = Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return chunk


class OpenAIProvider(LLMProvider):
    """Streams ``/chat/completions`` from one upstream base URL over one pooled ``httpx.AsyncClient``."""

    _instances: dict[tuple[int, str], OpenAIProvider] = {}

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        limits = httpx.Limits(max_connections=settings.LLM_MAX_CONNECTIONS, max_keepalive_connections=100)
        self.client = httpx.AsyncClient(timeout=_timeout(), limits=limits)

    @classmethod
    def for_chat_model(cls, chat_model: ChatModel) -> OpenAIProvider:
        base_url = chat_model.base_url or settings.OPENAI_BASE_URL
        # Pooled connections belong to the event loop that opened them.
        key = (id(asyncio.get_running_loop()), base_url)
        provider = cls._instances.get(key)
        if provider is None or provider.client.is_closed:
            provider = cls._instances[key] = cls(base_url)
        return provider

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
        body.update(request.extra)
        return body

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        url = f"{self.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {request.api_key}"} if request.api_key else None
        try:
            async with self.client.stream(
                "POST", url, json=self.build_body(request), headers=headers, timeout=_timeout()
            ) as response:
                if response.status_code >= 400:
                    raise _status_error(response.status_code, await response.aread())
                async for chunk in self._chunks(response):
                    yield chunk
        except httpx.HTTPError as error:
            raise map_http_error(error) from error

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[LLMChunk]:
        done = finished = False
        async for line in response.aiter_lines():
            if done or not line.startswith("data:"):
                continue  # Read to the end so the pooled connection can be reused.
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                continue
            chunk = parse_chunk(data)
            finished = finished or chunk.finish_reason is not None
            yield chunk
        if not (done or finished):
            raise exc.UpstreamDisconnected(detail="The stream ended without a finish reason or [DONE].")

    async def aclose(self) -> None:
        await self.client.aclose()
