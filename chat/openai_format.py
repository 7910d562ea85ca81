"""The OpenAI wire format: a turn's events as ``chat.completion.chunk``s or one ``chat.completion``.

Pure functions over ``chat.events``; the same turn stream feeds these as feeds the product's own SSE.
"""

from __future__ import annotations

import time
from typing import Any

from chat import sse
from chat.events import AgentResponse, Error, Event, MessageSaved, StreamEnd, StreamStart, Thinking, Token
from chat.llm.base import Usage

# Our finish reasons in OpenAI's vocabulary (stop, length, content_filter, tool_calls).
FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter", "stopped": "stop"}

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
    for event in events:
        if isinstance(event, AgentResponse):
            content = event.content
        elif isinstance(event, Thinking):
            reasoning += event.content
        elif isinstance(event, MessageSaved):
            content = event.message["content"]
        elif isinstance(event, StreamEnd):
            finish, usage = FINISH_REASONS.get(event.finish_reason, "stop"), event.usage
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
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
