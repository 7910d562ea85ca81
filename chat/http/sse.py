"""Server-Sent Events framing: each event is exactly one ``data: {json}\\n\\n`` block.

No ``id:`` or ``event:`` lines: simple readers split each network read on blank lines and parse every
``data: `` piece as JSON. The increasing ``eventId`` travels inside the JSON instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from chat.turns.events import Heartbeat, Token

KEEPALIVE = b": keep-alive\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(payload: dict[str, Any]) -> bytes:
    """One SSE block. JSON escapes newlines inside strings, so the block cannot be split early."""
    return b"data: " + _dumps(payload).encode() + b"\n\n"


def encode_done() -> bytes:
    return b"data: [DONE]\n\n"


async def stream(
    next_item: Callable[[], Awaitable[tuple[int, Any] | None]],
    render: Callable[[Any, int], bytes | None],
    *,
    on_close: Callable[[], Awaitable[Any]],
) -> AsyncIterator[bytes]:
    """Write each event as it comes; a ``Heartbeat`` becomes a keep-alive comment.

    ``next_item`` returns ``(eventId, event)``, or None at the end; ``render`` turns an event and its id into
    bytes (or None to skip it); ``on_close`` runs however the stream ends, including a client disconnect
    (Django cancels us then).
    """
    try:
        while (item := await next_item()) is not None:
            event_id, event = item
            if isinstance(event, Heartbeat):
                yield KEEPALIVE
            elif (data := render(event, event_id)) is not None:
                yield data
    finally:
        await on_close()


def render_event(event: Any, event_id: int) -> bytes:
    """The product's own SSE format: the event's dict plus an increasing ``eventId``."""
    if type(event) is Token:  # Most events by far; the same bytes as the general path, without the dict.
        return b'data: {"type":"token","content":%s,"eventId":%d}\n\n' % (_dumps(event.content).encode(), event_id)
    payload = event.to_dict()
    payload["eventId"] = event_id
    return encode(payload)


def render_event_without_tokens(event: Any, event_id: int) -> bytes | None:
    """``render_event`` for ``includeTokens=false``: the tokens are left out (their eventIds with them)."""
    return None if type(event) is Token else render_event(event, event_id)
