"""Export conversations as JSON (every field, recordings as URLs) or Markdown (readable transcripts)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from chat.domain import extensions
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


def _message(message: Message, base_url: str) -> dict[str, Any]:
    data = message_to_dict(message)
    for extra in data.values():
        if isinstance(extra, dict) and str(extra.get("url", "")).startswith("/"):
            extra["url"] = base_url + extra["url"]  # an added part's link (a recording), made absolute
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
            who = {"user": "User", "assistant": "Assistant", "system": "System"}[message.role]
            extra = [f"{message.created_at:%H:%M:%S}"]
            if message.source == Message.Source.VOICE:
                extra.append("voice")
            if message.status != Message.Status.COMPLETE:
                extra.append(message.status)
            if message.flag:
                extra.append(f"flagged: {message.get_flag_display()}")
            lines.append(f"**{who}** ({', '.join(extra)}):")
            lines.append("")
            for call in message.tool_calls or ():
                outcome = "ok" if call.get("ok") else "failed"
                arguments = json.dumps(call.get("arguments"), ensure_ascii=False)
                result = " ".join(str(call.get("content", "")).split())
                result = result if len(result) <= 300 else result[:299] + "…"
                lines.append(
                    f"> Tool `{call.get('name')}` ({outcome}, {call.get('durationMs', 0)} ms): `{arguments}` → {result}"
                )
                lines.append("")
            lines.append(message.reviewed_content or "_(empty)_")
            if message.corrected_content:
                lines.append("")
                lines.append(f"> Heard as: {message.content}")
            for label, path in extensions.export_links(message):
                lines.append("")
                lines.append(f"[{label}]({base_url}{path})")
            lines.append("")
        parts.append("\n".join(lines))
    return "\n---\n\n".join(parts)
