"""The OpenAI wire format: a turn's events as ``chat.completion.chunk``s or one ``chat.completion``.

Pure functions over ``chat.turns.events``; the same turn stream feeds these as feeds the product's own SSE.
"""

from __future__ import annotations

import time
from typing import Any

from chat.http import sse
from chat.llm.base import Usage
from chat.turns.events import (
    AgentResponse,
    Error,
    Event,
    MessageSaved,
    StreamEnd,
    StreamStart,
    Thinking,
    Token,
    ToolCallDelta,
)

# Our finish reasons in OpenAI's vocabulary (stop, length, content_filter, tool_calls).
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "stopped": "stop",
    "tool_calls": "tool_calls",
    "clarification": "stop",
}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(message: str, code: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "api_error"), "param": None, "code": code}}


def usage_dict(usage: dict[str, int] | None) -> dict[str, int] | None:
    """A turn's usage (``Usage.as_dict``) in OpenAI's names."""
    if usage is None:
        return None
    return Usage(usage["promptTokens"], usage["completionTokens"]).as_openai()


def tool_call_delta(event: ToolCallDelta) -> dict[str, Any]:
    """A piece of a client-side tool call: ``id``, ``type`` and the name come with its first piece."""
    function: dict[str, Any] = {"arguments": event.arguments}
    delta: dict[str, Any] = {"index": event.index}
    if event.tool_call_id:
        delta.update(id=event.tool_call_id, type="function")
    if event.name:
        function["name"] = event.name
    delta["function"] = function
    return delta


class ChunkRenderer:
    """Renders one turn's events as the SSE body of a streamed chat completion."""

    def __init__(self, completion_id: str, model: str, *, include_usage: bool, extra: dict[str, Any] | None = None):
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "system_fingerprint": None}  # fmt: skip
        self.include_usage = include_usage
        self.extra = extra or {}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **more: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse.encode({**self.base, "choices": [choice], **more})

    def __call__(self, event: Event, _event_id: int) -> bytes | None:
        if isinstance(event, Token):
            return self._chunk({"content": event.content})
        if isinstance(event, Thinking):
            return self._chunk({"reasoning_content": event.content})
        if isinstance(event, ToolCallDelta):
            return self._chunk({"tool_calls": [tool_call_delta(event)]})
        if isinstance(event, StreamStart):
            return self._chunk({"role": "assistant", "content": ""}, **self.extra)
        if isinstance(event, Error):
            return sse.encode(error_body(event.message, event.code, 502)) + sse.encode_done()
        if isinstance(event, StreamEnd):
            if event.finish_reason not in FINISH_REASONS:
                return None  # An error was already sent, with [DONE].
            out = self._chunk({}, FINISH_REASONS[event.finish_reason])
            if self.include_usage:
                out += sse.encode({**self.base, "choices": [], "usage": usage_dict(event.usage)})
            return out + sse.encode_done()
        return None


def completion(events: list[Event], completion_id: str, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    """A whole ``chat.completion`` from a finished turn's events."""
    content = reasoning = ""
    finish, usage = "stop", None
    calls: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            call = calls.setdefault(
                event.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            call["id"] = call["id"] or event.tool_call_id or ""
            call["function"]["name"] = call["function"]["name"] or event.name or ""
            call["function"]["arguments"] += event.arguments
        elif isinstance(event, AgentResponse):
            content = event.content
        elif isinstance(event, Thinking):
            reasoning += event.content
        elif isinstance(event, MessageSaved):
            content = event.message["content"]
        elif isinstance(event, StreamEnd):
            finish, usage = FINISH_REASONS.get(event.finish_reason, "stop"), event.usage
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
        message["content"] = content or None
    if reasoning:
        message["reasoning_content"] = reasoning
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage_dict(usage),
        "system_fingerprint": None,
        **extra,
    }
