"""A started turn as the HTTP response its request asked for: one ``text/event-stream`` renderer or another,
or the JSON of its saved messages. Every door that runs a turn over HTTP answers through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from chat.domain.serializers import message_to_dict
from chat.domain.services import TurnBegun
from chat.http import sse
from chat.http.api import parse_bool
from chat.models import Message
from chat.turns.events import Error, MessageSaved
from chat.turns.run import TurnStream
from chat.turns.upstream import error_status


@dataclass(frozen=True, slots=True)
class TurnFlags:
    """What a turn request asks of its response: ``stream``, ``includeTokens``, ``speak`` and ``detach``, from
    the body (JSON or a form) or the query string.

    ``detach``: a streamed turn goes on to its end when this request goes away (a reloaded or closed page);
    without it, as the seed says, a client that aborts its request stops its turn.
    """

    stream: bool
    include_tokens: bool
    speak: bool
    detach: bool = False

    @classmethod
    def parse(cls, request: HttpRequest, body: Any) -> TurnFlags:
        def flag(name: str, default: bool) -> bool:
            return parse_bool(body.get(name, request.GET.get(name)), name, default)

        return cls(flag("stream", False), flag("includeTokens", True), flag("speak", False), flag("detach", False))


def sse_response(
    turn: TurnStream, render: Callable[[Any, int], bytes | None] = sse.render_event, *, detach: bool = False
) -> StreamingHttpResponse:
    """A turn as a ``text/event-stream`` response, in the product's format or another renderer's. When the
    client goes away the turn is cancelled (saved ``interrupted``), or with ``detach`` left to finish."""
    turn.keep_alive(settings.CHAT_HEARTBEAT_SECONDS)
    events = sse.stream(turn.next, render, on_close=turn.detach if detach else turn.aclose)
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    for name, value in sse.SSE_HEADERS.items():
        response[name] = value
    return response


async def collect_turn(turn: TurnStream, begun_user: Message, begun_reply: Message) -> tuple[dict[str, Any], int]:
    """The non-streaming form: run the same turn to its end; the saved messages and the HTTP status."""
    error = reply = None
    for event in await turn.collect():
        if isinstance(event, MessageSaved):
            reply = event.message
        elif isinstance(event, Error):
            error = event
    body = {"userMessage": message_to_dict(begun_user), "assistantMessage": reply or message_to_dict(begun_reply)}
    if error is None:
        return body, 200
    body["error"] = {"code": error.code, "message": error.message}
    return body, error_status(error.code)


async def turn_response(
    turn: TurnStream, begun: TurnBegun, flags: TurnFlags, extra: dict[str, Any] | None = None
) -> HttpResponse:
    """The turn streamed as the product's SSE, or its saved messages as JSON (``extra`` first)."""
    if flags.stream:
        render = sse.render_event if flags.include_tokens else sse.render_event_without_tokens
        return sse_response(turn, render, detach=flags.detach)
    body, status = await collect_turn(turn, begun.user_message, begun.assistant_message)
    return JsonResponse({**(extra or {}), **body}, status=status)
