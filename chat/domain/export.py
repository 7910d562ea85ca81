"""Export conversations as JSON (every field, recordings as URLs) or Markdown (readable transcripts): the
review desk's export of many chats, and a person's export of one of their own (``chat_export_*``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from chat.domain import extensions
from chat.domain.selectors import message_list
from chat.domain.serializers import iso, message_to_dict
from chat.models import ChatInstance, Feedback, Message


def export_queryset(chats: QuerySet[ChatInstance]) -> QuerySet[ChatInstance]:
    """The conversations with everything an export reads, in a fixed order (oldest first)."""
    messages = Message.objects.select_related(*extensions.message_related(), "chat_model").prefetch_related(
        Prefetch("feedback", queryset=Feedback.objects.select_related("user"))
    )
    return (
        chats.select_related("owner", "chat_model", "reviewer")
        .prefetch_related(Prefetch("messages", queryset=messages.order_by("seq")))
        .order_by("created_at", "id")
    )


def _with_absolute_links(data: dict[str, Any], base_url: str) -> dict[str, Any]:
    for extra in data.values():
        if isinstance(extra, dict) and str(extra.get("url", "")).startswith("/"):
            extra["url"] = base_url + extra["url"]  # an added part's link (a recording), made absolute
    return data


def _message(message: Message, base_url: str) -> dict[str, Any]:
    data = _with_absolute_links(message_to_dict(message), base_url)
    data["review"] = {
        "flag": message.flag or None,
        "flagNote": message.flag_note,
        "correctedContent": message.corrected_content or None,
    }
    data["feedback"] = [
        {
            "user": f.user.get_username(),
            "rating": "up" if f.rating == 1 else "down",
            "comment": f.comment,
            "at": iso(f.updated_at),
        }  # fmt: skip
        for f in message.feedback.all()
    ]
    return data


def chats_to_json(chats: Iterable[ChatInstance], base_url: str = "") -> list[dict[str, Any]]:
    out = []
    for chat in chats:
        messages = list(chat.messages.all())
        for message in messages:
            message.chat = chat
        out.append({
            "id": chat.public_id,
            "title": chat.title,
            "owner": chat.owner.get_username(),
            "chatModel": {"id": chat.chat_model.public_id, "name": chat.chat_model.name},
            "createdAt": iso(chat.created_at),
            "updatedAt": iso(chat.updated_at),
            "review": {
                "state": chat.review_state,
                "reviewer": chat.reviewer.get_username() if chat.reviewer else None,
                "notes": chat.review_notes,
                "reviewedAt": iso(chat.reviewed_at),
            },
            "messages": [_message(m, base_url) for m in messages],
        })  # fmt: skip
    return out


def chats_to_markdown(chats: Iterable[ChatInstance], base_url: str = "") -> str:
    parts = []
    for chat in chats:
        lines = [
            f"# {chat.title or chat.public_id}",
            "",
            f"- Conversation: `{chat.public_id}` · {chat.owner.get_username()} · {chat.chat_model.name}",
            f"- Started {chat.created_at:%Y-%m-%d %H:%M} UTC · review: {chat.get_review_state_display()}",
        ]
        if chat.review_notes:
            lines.append(f"- Review notes: {chat.review_notes}")
        lines.append("")
        for message in chat.messages.all():
            lines += _message_markdown(message, base_url, review=True)
        parts.append("\n".join(lines))
    return "\n---\n\n".join(parts)


def _message_markdown(message: Message, base_url: str, *, review: bool) -> list[str]:
    """A message as Markdown lines: who and when, its tool calls, its text, its links. With ``review``, as
    the review desk reads it (flags, and a corrected transcript in place of what was heard)."""
    who = {"user": "User", "assistant": "Assistant", "system": "System"}[message.role]
    extra = [f"{message.created_at:%H:%M:%S}"]
    if message.source == Message.Source.VOICE:
        extra.append("voice")
    if message.status != Message.Status.COMPLETE:
        extra.append(message.status)
    if review and message.flag:
        extra.append(f"flagged: {message.get_flag_display()}")
    lines = [f"**{who}** ({', '.join(extra)}):", ""]
    for call in message.tool_calls or ():
        outcome = "ok" if call.get("ok") else "failed"
        arguments = json.dumps(call.get("arguments"), ensure_ascii=False)
        result = " ".join(str(call.get("content", "")).split())
        result = result if len(result) <= 300 else result[:299] + "…"
        lines.append(
            f"> Tool `{call.get('name')}` ({outcome}, {call.get('durationMs', 0)} ms): `{arguments}` → {result}"
        )
        lines.append("")
    lines.append((message.reviewed_content if review else message.content) or "_(empty)_")
    if review and message.corrected_content:
        lines.append("")
        lines.append(f"> Heard as: {message.content}")
    for label, path in extensions.export_links(message):
        lines.append("")
        lines.append(f"[{label}]({base_url}{path})")
    lines.append("")
    return lines


EXPORT_FORMAT = "chat-server.chat"
# The API's message fields an export leaves out: the chat's id (said once), what follows from the tree
# (versions), and what is made from the text again (its HTML, a link to hear it spoken).
_DERIVED = ("chatInstanceId", "siblingIds", "html", "speech")


def chat_export_json(chat: ChatInstance, base_url: str = "") -> dict[str, Any]:
    """One person's chat, to take out and bring back in: every message of every branch (parents before
    their replies, each with its ``parentId``), and the end of the branch that was showing."""
    messages = list(
        Message.objects.filter(chat=chat)
        .select_related(*extensions.message_related(), "chat_model")
        .prefetch_related("feedback")
        .order_by("seq")  # a message is always written after its parent
    )
    public_ids: dict[int | None, str] = {message.pk: message.public_id for message in messages}
    rows = []
    for message in messages:
        message.chat, message.parent_public_id = chat, public_ids.get(message.parent_id)
        data = _with_absolute_links(message_to_dict(message), base_url)
        for name in _DERIVED:
            data.pop(name, None)
        data["model"] = message.chat_model.name if message.chat_model else None
        rows.append(data)
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "id": chat.public_id,
        "title": chat.title,
        "model": chat.chat_model.name,
        "systemPrompt": chat.system_prompt,
        "temperature": chat.temperature,
        "createdAt": iso(chat.created_at),
        "updatedAt": iso(chat.updated_at),
        "exportedAt": iso(timezone.now()),
        "activeMessageId": public_ids.get(chat.active_message_id),
        "messages": rows,
    }


def chat_export_markdown(chat: ChatInstance, base_url: str = "") -> str:
    """One person's chat as a readable transcript: the branch that was showing, root first."""
    messages = message_list(chat=chat)
    lines = [
        f"# {chat.title or 'Untitled chat'}",
        "",
        f"- {chat.chat_model.name} · started {chat.created_at:%Y-%m-%d %H:%M} UTC · exported "
        f"{timezone.now():%Y-%m-%d %H:%M} UTC",
        f"- {len(messages)} messages: the conversation as it shows (other versions of a message are in the JSON "
        "export)",
        "",
    ]
    for message in messages:
        lines += _message_markdown(message, base_url, review=False)
    return "\n".join(lines)
