"""Shared links (``/api/chats/<ci>/share``, ``/api/shares``) and a person's export of a chat
(``/api/chats/<ci>/export``). The shared page itself is in ``chat.http.pages``."""

from __future__ import annotations

import json
from typing import TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from chat.domain.db import run_db
from chat.domain.export import chat_export_json, chat_export_markdown
from chat.domain.selectors import chat_get
from chat.domain.sharing import share_create, share_get, share_list, share_revoke, share_to_dict
from chat.exceptions import BadRequest
from chat.http.api import api_view, parse_bool, parse_json
from chat.models import ChatShare

# What a shared page and its recordings send: not indexed, not cached, and no link out says where it was.
UNLISTED_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)


def unlisted(response: ResponseT) -> ResponseT:
    """A shared page's response (or its 404) with ``UNLISTED_HEADERS``."""
    for name, value in UNLISTED_HEADERS.items():
        response[name] = value
    return response


def _share_url(request: HttpRequest, share: ChatShare) -> str:
    return request.build_absolute_uri(reverse("share-page", kwargs={"share_id": share.public_id}))


def _shares(request: HttpRequest, shares: list[ChatShare]) -> JsonResponse:
    return JsonResponse({"shares": [share_to_dict(s, url=_share_url(request, s)) for s in shares]})


@api_view(["POST"])
async def chat_share_view(request: HttpRequest, chat_id: str) -> JsonResponse:
    """``POST /api/chats/<ci>/share`` ``{includeRecordings?}``: a new read-only link to the active branch."""
    body = parse_json(request)
    include_recordings = parse_bool(body.get("includeRecordings"), "includeRecordings", False)
    share = await run_db(share_create, user=request.api_user, chat_id=chat_id, include_recordings=include_recordings)
    return JsonResponse(share_to_dict(share, url=_share_url(request, share)), status=201)


@api_view(["GET"])
async def chat_shares_view(request: HttpRequest, chat_id: str) -> JsonResponse:
    """``GET /api/chats/<ci>/shares``: the links to this chat."""
    user = request.api_user
    return _shares(request, await run_db(lambda: list(share_list(user=user, chat_id=chat_id))))


@api_view(["GET"])
async def shares_view(request: HttpRequest) -> JsonResponse:
    """``GET /api/shares``: the caller's links, over all their chats, newest first."""
    user = request.api_user
    return _shares(request, await run_db(lambda: list(share_list(user=user))))


@api_view(["GET", "DELETE"])
async def share_detail_view(request: HttpRequest, share_id: str) -> HttpResponse:
    """``GET`` one of the caller's links; ``DELETE`` revokes it (its page is a 404 from then on)."""
    if request.method == "DELETE":
        await run_db(share_revoke, user=request.api_user, share_id=share_id)
        return HttpResponse(status=204)
    share = await run_db(share_get, user=request.api_user, share_id=share_id)
    return JsonResponse(share_to_dict(share, url=_share_url(request, share)))


EXPORT_FORMATS = {"markdown": "markdown", "md": "markdown", "json": "json"}


def _filename(title: str, extension: str) -> str:
    """A file name from the chat's title: "Trip to Lyon" → ``trip-to-lyon.md`` (letters of any script kept)."""
    return f"{slugify(title, allow_unicode=True)[:80].strip('-_') or 'chat'}.{extension}"


@api_view(["GET"])
async def chat_export_view(request: HttpRequest, chat_id: str) -> HttpResponse:
    """``GET /api/chats/<ci>/export?format=markdown|json``: the chat as a download."""
    requested = request.GET.get("format") or "markdown"
    fmt = EXPORT_FORMATS.get(requested)
    if fmt is None:
        raise BadRequest("'format' must be markdown or json.", code="invalid_value")
    base_url = request.build_absolute_uri("/").rstrip("/")
    user = request.api_user

    def export() -> tuple[str, str]:
        chat = chat_get(user=user, chat_id=chat_id)
        if fmt == "json":
            return chat.title, json.dumps(chat_export_json(chat, base_url), ensure_ascii=False, indent=2)
        return chat.title, chat_export_markdown(chat, base_url)

    title, body = await run_db(export)
    content_type, extension = ("application/json", "json") if fmt == "json" else ("text/markdown", "md")
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, _filename(title, extension)) or "attachment"
    response["Cache-Control"] = "private, no-store"
    return response
