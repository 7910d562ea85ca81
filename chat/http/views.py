"""The JSON and SSE API. Views parse input and call services; the turn logic lives in ``chat.turns.run``."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from chat.domain.db import run_db
from chat.domain.search import MAX_QUERY_CHARS, search_chats, search_messages
from chat.domain.selectors import (
    chat_get,
    chat_list,
    chat_model_get,
    chat_model_list,
    message_list,
    preset_get,
)
from chat.domain.serializers import chat_model_to_dict, chat_to_dict, message_to_dict
from chat.domain.services import (
    Placement,
    chat_create,
    chat_delete,
    chat_switch_branch,
    chat_update,
    feedback_set,
    message_delete,
    turn_begin,
)
from chat.exceptions import BadRequest, NotFound
from chat.http import sse
from chat.http.api import (
    admit_turn,
    api_view,
    optional_str,
    parse_bool,
    parse_int,
    parse_json,
    parse_message,
    parse_temperature,
    parse_text,
    refuse_nul,
    require_str,
)
from chat.http.follow import follow
from chat.http.responses import TurnFlags, turn_response
from chat.realtime import broadcast
from chat.realtime.frames import parse_cursor
from chat.turns.run import TurnOptions, start_turn, stop_running
from chat.turns.shutdown import draining
from chat.turns.upstream import default_local_loaded


@api_view(["GET"])
async def models_view(request: HttpRequest) -> JsonResponse:
    models = await run_db(lambda: [chat_model_to_dict(m) for m in chat_model_list()])
    return JsonResponse({"models": models})


def _default_model_id() -> str:
    chat_model = chat_model_list().first()
    if chat_model is None:
        raise NotFound("No chat model is configured. An admin can add one.", code="model_not_found")
    return chat_model.public_id


@api_view(["GET", "POST"])
async def chats_view(request: HttpRequest) -> JsonResponse:
    user = request.api_user
    if request.method == "GET":
        limit = parse_int(request.GET.get("limit"), "limit", default=50, minimum=1, maximum=200)
        before = request.GET.get("before") or None
        if before is not None:
            refuse_nul(before, "before")
        archived = parse_bool(request.GET.get("archived"), "archived", False)

        def page() -> list[dict[str, Any]]:
            return [chat_to_dict(c) for c in chat_list(user=user, before=before, archived=archived)[: limit + 1]]

        rows = await run_db(page)
        more = len(rows) > limit
        # The next page: ?before=<the last chat's id>.
        return JsonResponse({"chats": rows[:limit], "nextBefore": rows[limit - 1]["id"] if more else None})
    body = parse_json(request)
    model_id = optional_str(body, "chatModelId")
    preset_id = optional_str(body, "presetId")
    title = optional_str(body, "title", max_length=200) or ""

    def create() -> dict[str, Any]:
        preset = preset_get(user=user, preset_id=preset_id) if preset_id else None
        if model_id is None and preset is not None and preset.chat_model and preset.chat_model.is_active:
            chat_model = preset.chat_model
        else:
            chat_model = chat_model_get(model_id=model_id or _default_model_id())
        return chat_to_dict(chat_create(user=user, chat_model=chat_model, title=title, preset=preset))

    return JsonResponse(await run_db(create), status=201)


@api_view(["GET"])
async def search_view(request: HttpRequest) -> JsonResponse:
    """``GET /api/search?q=``: the caller's own messages that contain every word of ``q`` (prefixes match)."""
    query = (request.GET.get("q") or "").strip()
    if not query:
        raise BadRequest("Give something to search for: /api/search?q=words", code="missing_query")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"The search is longer than {MAX_QUERY_CHARS} characters.", code="query_too_long")
    refuse_nul(query, "q")
    limit = parse_int(request.GET.get("limit"), "limit", default=20, minimum=1, maximum=100)

    def both() -> tuple[list[Any], list[Any]]:
        user_id = request.api_user.pk
        return search_messages(user_id=user_id, query=query, limit=limit), search_chats(
            user_id=user_id, query=query, limit=limit
        )

    hits, chats = await run_db(both)
    return JsonResponse(
        {"query": query, "results": [hit.to_dict() for hit in hits], "chats": [chat.to_dict() for chat in chats]}
    )


@api_view(["GET", "PATCH", "DELETE"])
async def chat_detail_view(request: HttpRequest, chat_id: str) -> HttpResponse:
    user = request.api_user
    if request.method == "GET":
        return JsonResponse(await run_db(lambda: chat_to_dict(chat_get(user=user, chat_id=chat_id))))
    if request.method == "DELETE":
        chat = await run_db(chat_get, user=user, chat_id=chat_id)
        await stop_running(chat_id)
        await run_db(chat_delete, chat=chat)
        await broadcast.push_chat_changed(chat_id, {"type": "chat_deleted", "chatInstanceId": chat_id})
        return HttpResponse(status=204)
    body = parse_json(request)
    changes: dict[str, Any] = {}
    if body.get("title") is not None:
        changes["title"] = parse_text(body, "title", max_length=200).strip()
    if "systemPrompt" in body:
        changes["system_prompt"] = parse_text(body, "systemPrompt", max_length=settings.CHAT_MAX_MESSAGE_CHARS)
    if "temperature" in body:
        changes["temperature"] = parse_temperature(body["temperature"])
    for name in ("pinned", "archived"):
        if name in body:
            if not isinstance(body[name], bool):
                raise BadRequest(f"'{name}' must be true or false.", code="invalid_field")
            changes[name] = body[name]
    model_id = optional_str(body, "chatModelId")
    active_id = optional_str(body, "activeMessageId")

    def update() -> dict[str, Any]:
        chat = chat_get(user=user, chat_id=chat_id)
        if model_id:
            changes["chat_model"] = chat_model_get(model_id=model_id)
        if active_id:
            chat_switch_branch(chat=chat, message_id=active_id)
        return chat_to_dict(chat_update(chat=chat, **changes))

    changed = await run_db(update)
    await broadcast.push_chat_changed(chat_id, {"type": "chat_updated", "chat": changed})
    return JsonResponse(changed)


@api_view(["DELETE"])
async def message_delete_view(request: HttpRequest, message_id: str) -> HttpResponse:
    """``DELETE /api/messages/<id>``: the message and everything after it on its branches."""
    chat = await run_db(message_delete, user=request.api_user, message_id=message_id)
    changed = await run_db(chat_to_dict, chat)
    await broadcast.push_chat_changed(
        chat.public_id, {"type": "chat_updated", "chat": changed, "deletedMessageId": message_id}
    )
    return HttpResponse(status=204)


@api_view(["GET"])
async def chat_messages_view(request: HttpRequest, chat_id: str) -> JsonResponse:
    user = request.api_user
    after = parse_int(request.GET.get("after"), "after", default=0)
    limit = parse_int(request.GET.get("limit"), "limit", default=200, minimum=1, maximum=1000)

    def read() -> dict[str, Any]:
        chat = chat_get(user=user, chat_id=chat_id)
        messages = message_list(chat=chat, after=after, limit=limit + 1)
        return {
            "chatInstanceId": chat.public_id,
            "messages": [message_to_dict(m) for m in messages[:limit]],
            "hasMore": len(messages) > limit,
        }

    return JsonResponse(await run_db(read))


@api_view(["GET"])
async def chat_events_view(request: HttpRequest, chat_id: str) -> StreamingHttpResponse:
    """``GET /api/chats/<ci>/events``: the chat's turn as ``text/event-stream`` for EventSource clients, from
    the event log (``chat.http.follow`` says which turn, and from where)."""
    await run_db(chat_get, user=request.api_user, chat_id=chat_id)
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after")
    try:
        cursor = parse_cursor(raw)
    except ValueError:
        raise BadRequest(
            "'Last-Event-ID' (or 'after') must be an event id from this stream: '<seq>:<eventId>' or '<eventId>'.",
            code="invalid_cursor",
        ) from None
    speech = parse_bool(request.GET.get("speech"), "speech", False)
    events = follow(chat_id, cursor, speech=speech)
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    for name, value in sse.SSE_HEADERS.items():
        response[name] = value
    return response


@api_view(["POST"])
async def chat_stop_view(request: HttpRequest, chat_id: str) -> JsonResponse:
    chat = await run_db(chat_get, user=request.api_user, chat_id=chat_id)
    message = await stop_running(chat_id)
    if message is None:
        return JsonResponse({"stopped": False, "message": None})
    message.chat = chat
    return JsonResponse({"stopped": True, "message": message_to_dict(message)})


@api_view(["POST"])
async def message_feedback_view(request: HttpRequest, message_id: str) -> JsonResponse:
    """Thumbs up or down on a reply: ``{"rating": "up" | "down" | null, "comment"?}``."""
    body = parse_json(request)
    ratings = {"up": 1, "down": -1, 1: 1, -1: -1, None: None}
    rating = body.get("rating")
    if isinstance(rating, bool) or rating not in ratings:
        raise BadRequest('\'rating\' must be "up", "down" or null.', code="invalid_field")
    comment = optional_str(body, "comment", max_length=2000) or ""
    feedback = await run_db(
        feedback_set, user=request.api_user, message_id=message_id, rating=ratings[rating], comment=comment
    )
    if feedback is None:
        return JsonResponse({"messageId": message_id, "rating": None, "comment": ""})
    rating_name = "up" if feedback.rating == 1 else "down"
    return JsonResponse({"messageId": message_id, "rating": rating_name, "comment": feedback.comment})


@api_view(["POST"])
async def chat_turn_view(request: HttpRequest) -> HttpResponse:
    """``POST /api/chat``: one turn, streamed as SSE or returned as JSON."""
    started = time.monotonic()
    body = parse_json(request)
    flags = TurnFlags.parse(request, body)
    placement = _placement(body)
    again = placement.regenerate_id or placement.continue_id
    content = "" if again else parse_message(body.get("message"))
    chat_id = require_str(body, "chatInstanceId")
    model_id = optional_str(body, "chatModelId")  # none: the chat's own model
    client_message_id = optional_str(body, "clientMessageId")
    save = functools.partial(
        run_db, turn_begin, user=request.api_user, chat_id=chat_id, model_id=model_id, content=content,
        client_message_id=client_message_id, placement=placement,
    )  # fmt: skip
    begun, release = await admit_turn(request, save)
    turn = start_turn(begun, TurnOptions(speak=flags.speak), started=started, on_finish=release)
    return await turn_response(turn, begun, flags)


def _placement(body: dict[str, Any]) -> Placement:
    """Where the turn goes in the chat's tree: after the active branch, after ``parentMessageId`` (null: as
    a first message), or as a new version of a reply (``regenerateMessageId``) or more of one
    (``continueMessageId``), which take no ``message``."""
    regenerate_id = optional_str(body, "regenerateMessageId")
    continue_id = optional_str(body, "continueMessageId")
    named = [name for name in ("parentMessageId", "regenerateMessageId", "continueMessageId") if name in body]
    if len(named) > 1:
        raise BadRequest(f"Give one of {', '.join(named)}, not several.", code="invalid_field")
    if (regenerate_id or continue_id) and body.get("message") is not None:
        raise BadRequest("A regenerated or continued reply takes no 'message'.", code="invalid_field")
    if "parentMessageId" in body and body["parentMessageId"] is None:
        return Placement(root=True)
    return Placement(optional_str(body, "parentMessageId"), False, regenerate_id, continue_id)


async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers, the channel layer delivers, the local model is loaded."""
    checks: dict[str, str] = {}
    try:
        await run_db(_database_ok)
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        async with asyncio.timeout(2):
            await layer.send(channel, {"type": "ready.check"})
            await layer.receive(channel)
        checks["channel_layer"] = "ok"
    except Exception as error:
        checks["channel_layer"] = f"error: {type(error).__name__}"
    if settings.LOCAL_LLM_PRELOAD:
        checks["local_model"] = "ok" if await asyncio.to_thread(default_local_loaded) else "loading"
    if draining():
        checks["server"] = "shutting down"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
