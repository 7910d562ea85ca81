"""The JSON shapes of the API. Every place that sends a message (REST, SSE, websockets) uses these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chat.domain import extensions
from chat.domain.markdown import render_markdown
from chat.llm.base import Usage
from chat.models import ChatInstance, ChatModel, Message, Preset


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _feedback(message: Message) -> str | None:
    """The conversation owner's rating of a reply, when feedback was prefetched (see ``message_list``)."""
    prefetched = getattr(message, "_prefetched_objects_cache", {}).get("feedback")
    if not prefetched:
        return None
    for feedback in prefetched:
        if feedback.user_id == message.chat.owner_id:
            return "up" if feedback.rating == 1 else "down"
    return None


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call.get("id"),
        "name": call.get("name"),
        "arguments": call.get("arguments"),
        "label": call.get("label", ""),
        "ok": call.get("ok", False),
        "content": call.get("content", ""),
        "durationMs": call.get("durationMs", 0),
        "step": call.get("step", 1),
        "source": call.get("source", ""),
    }


def _clarification(message: Message) -> dict[str, Any] | None:
    """The question a reply asked with ``ask_user``, and its options, for the UI's buttons."""
    if message.finish_reason != "clarification":
        return None
    for call in reversed(message.tool_calls or ()):
        if call.get("name") == "ask_user" and isinstance(call.get("arguments"), dict):
            arguments = call["arguments"]
            options = [str(o) for o in arguments.get("options") or () if str(o).strip()]
            return {"question": str(arguments.get("question", "")), "options": options}
    return None


def _parent_id(message: Message) -> str | None:
    if message.parent_id is None:
        return None
    return message.parent_public_id or message.parent.public_id  # the parent is loaded where it was not known


def _sibling_ids(message: Message) -> list[str]:
    """The message's versions, oldest first (itself among them). Reads and turns set them; a message read
    on its own is taken to have none (``chat.domain.branches.sibling_ids`` reads them)."""
    return message.sibling_ids if message.sibling_ids is not None else [message.public_id]


def message_to_dict(message: Message) -> dict[str, Any]:
    usage = None
    if message.prompt_tokens is not None or message.completion_tokens is not None:
        usage = Usage(message.prompt_tokens, message.completion_tokens).as_dict()
    return {
        "id": message.public_id,
        "chatInstanceId": message.chat.public_id,
        "seq": message.seq,
        "parentId": _parent_id(message),
        "siblingIds": _sibling_ids(message),
        "role": message.role,
        "content": message.content,
        "html": render_markdown(message.content) if message.role == Message.Role.ASSISTANT else None,
        "reasoning": message.reasoning,
        "status": message.status,
        "source": message.source,
        "finishReason": message.finish_reason or None,
        "usage": usage,
        "timings": {"ttftMs": message.ttft_ms, "durationMs": message.duration_ms},
        "error": (
            {"code": message.error_code, "message": message.error_detail.split("\n", 1)[0]}
            if message.error_code
            else None
        ),
        "clientMessageId": message.client_message_id,
        "contextTrimmed": message.context_trimmed or 0,
        "toolCalls": [_tool_call(call) for call in message.tool_calls or () if call.get("name") != "ask_user"],
        "clarification": _clarification(message),
        **extensions.message_fields(message),
        "feedback": _feedback(message),
        "createdAt": iso(message.created_at),
        "completedAt": iso(message.completed_at),
    }


def chat_to_dict(chat: ChatInstance) -> dict[str, Any]:
    return {
        "id": chat.public_id,
        "title": chat.title,
        "chatModelId": chat.chat_model.public_id,
        "systemPrompt": chat.system_prompt,
        "temperature": chat.temperature,
        "pinned": chat.pinned,
        "archived": chat.archived,
        "activeMessageId": _active_id(chat),
        "createdAt": iso(chat.created_at),
        "updatedAt": iso(chat.updated_at),
    }


def _active_id(chat: ChatInstance) -> str | None:
    if chat.active_message_id is None:
        return None
    return chat.active_public_id or chat.active_message.public_id  # read where a query did not join it


def chat_model_to_dict(chat_model: ChatModel) -> dict[str, Any]:
    return {
        "id": chat_model.public_id,
        "name": chat_model.name,
        "provider": chat_model.provider,
        "isDefault": chat_model.is_default,
        "model": chat_model.upstream_model,
    }


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    return {
        "id": preset.public_id,
        "name": preset.name,
        "systemPrompt": preset.system_prompt,
        "chatModelId": preset.chat_model.public_id if preset.chat_model else None,
        "temperature": preset.temperature,
        "createdAt": iso(preset.created_at),
        "updatedAt": iso(preset.updated_at),
    }
