"""Shared links: a read-only copy of a chat's active branch, open to anyone with its link, until revoked.

A share holds a snapshot, written once: what people said and what the model answered (with the tools it used
and, when the owner chose, which messages have a recording), never review notes, flags, feedback, errors,
timings or tokens. Later turns, edits and branch switches in the chat do not show on it.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from chat.domain import extensions
from chat.domain.markdown import render_markdown
from chat.domain.selectors import chat_get, message_list
from chat.domain.serializers import iso
from chat.exceptions import BadRequest, NotFound
from chat.models import ChatShare, Message

MAX_SHARES = 100  # links a person may hold at once, over all their chats
SHOWN_ROLES = (Message.Role.USER, Message.Role.ASSISTANT)


def _snapshot_message(message: Message, *, include_recordings: bool) -> dict[str, Any] | None:
    """What a share keeps of a message, or None for one with nothing to show (a reply still streaming, or
    one that failed before any text)."""
    tools = [call for call in message.tool_calls or () if call.get("name") != "ask_user"]
    if message.role not in SHOWN_ROLES or message.status == Message.Status.STREAMING:
        return None
    if not message.content and not tools:
        return None
    shown: dict[str, Any] = {
        "role": message.role,
        "content": message.content,
        "createdAt": iso(message.created_at),
        "voice": message.source == Message.Source.VOICE,
        "stopped": message.status == Message.Status.INTERRUPTED,
        # Only what a person sees while a tool runs: arguments and results can hold the owner's other chats.
        "tools": [
            {"name": str(c.get("name", "")), "label": str(c.get("label", "")), "ok": bool(c.get("ok"))} for c in tools
        ],
    }
    # The recording, as the API's message JSON names it (chat never names the voice app).
    recording = extensions.message_fields(message).get("audio") if include_recordings else None
    if recording:
        shown["recording"] = {"messageId": message.public_id, "durationMs": recording.get("durationMs")}
    return shown


def share_create(*, user: AbstractBaseUser, chat_id: str, include_recordings: bool = False) -> ChatShare:
    """A new link to the user's chat, as its active branch is now."""
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id)
        if share_list(user=user).count() >= MAX_SHARES:
            raise BadRequest(f"You have {MAX_SHARES} shared links, the most there can be. Revoke one first.",
                             code="too_many_shares")  # fmt: skip
        shown = [_snapshot_message(m, include_recordings=include_recordings) for m in message_list(chat=chat)]
        messages = [message for message in shown if message is not None]
        if not messages:
            raise BadRequest("This chat has no messages to share yet.", code="empty_chat")
        return ChatShare.objects.create(
            chat=chat, title=chat.title, messages=messages, include_recordings=include_recordings
        )


def share_list(*, user: AbstractBaseUser, chat_id: str | None = None) -> QuerySet[ChatShare]:
    """The user's links, newest first; with ``chat_id``, those of that chat (``NotFound`` if it is not theirs)."""
    shares = ChatShare.objects.filter(chat__owner=user).select_related("chat")
    if chat_id is not None:
        shares = shares.filter(chat=chat_get(user=user, chat_id=chat_id))
    return shares


def share_get(*, user: AbstractBaseUser, share_id: str) -> ChatShare:
    share = share_list(user=user).filter(public_id=share_id).first()
    if share is None:
        raise NotFound(f"Shared link '{share_id}' was not found.", code="share_not_found")
    return share


def share_revoke(*, user: AbstractBaseUser, share_id: str) -> None:
    """Delete a link: its page and its recordings are gone at once."""
    share_get(user=user, share_id=share_id).delete()


def share_public_get(*, share_id: str) -> ChatShare | None:
    """A link as anyone who has it sees it (no owner check: the unguessable id is the permission)."""
    return ChatShare.objects.filter(public_id=share_id).first()


def share_recording_message(*, share: ChatShare, message_id: str) -> bool:
    """Whether the share offers the recording of ``message_id`` (it was made with recordings, and that
    message had one then)."""
    if not share.include_recordings:
        return False
    return any((m.get("recording") or {}).get("messageId") == message_id for m in share.messages)


# A table cell's alignment as markdown-it writes it, as the page's CSP takes it: no style attribute (refused,
# and reported), a data-align for app.css instead (what static/js/markdown.js does in the app).
_ALIGNED = re.compile(r'<(th|td) style="text-align:(left|right|center)">')


def _page_html(content: str) -> str:
    return _ALIGNED.sub(r'<\1 data-align="\2">', render_markdown(content))


def share_page_messages(share: ChatShare) -> list[dict[str, Any]]:
    """The snapshot as the page shows it: replies rendered as sanitised HTML, times as datetimes.

    Rendered when shown rather than stored, so a page made today gets tomorrow's sanitiser.
    """
    return [
        {
            **message,
            "html": _page_html(message["content"]) if message["role"] == Message.Role.ASSISTANT else None,
            "at": parse_datetime(message["createdAt"]) if message.get("createdAt") else None,
        }
        for message in share.messages
    ]


def share_to_dict(share: ChatShare, *, url: str) -> dict[str, Any]:
    return {
        "id": share.public_id,
        "url": url,
        "chatInstanceId": share.chat.public_id,
        "title": share.title,
        "createdAt": iso(share.created_at),
        "includeRecordings": share.include_recordings,
        "messageCount": len(share.messages),
    }
