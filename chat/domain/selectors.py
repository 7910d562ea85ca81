"""Reads. Every lookup of a conversation is scoped to its owner: another user's chat does not exist."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import Col

from chat.domain import extensions
from chat.domain.branches import path_rows, sibling_ids
from chat.exceptions import NotFound
from chat.models import ChatInstance, ChatModel, Message, Preset


def chat_model_list() -> QuerySet[ChatModel]:
    """The models people may chat with, the admin's default first."""
    return ChatModel.objects.filter(is_active=True).order_by("-is_default", "name")


def chat_model_get(*, model_id: str) -> ChatModel:
    """An active chat model by public id or by name."""
    try:
        return ChatModel.objects.get(Q(public_id=model_id) | Q(name=model_id), is_active=True)
    except (ChatModel.DoesNotExist, ChatModel.MultipleObjectsReturned):
        raise NotFound(f"Unknown or inactive chat model '{model_id}'.", code="model_not_found") from None


def _chats(user: AbstractBaseUser) -> QuerySet[ChatInstance]:
    """The user's chats with their models and their active messages' public ids."""
    chats = ChatInstance.objects.filter(owner=user).select_related("chat_model")
    return chats.annotate(active_public_id=F("active_message__public_id"))


def chat_list(*, user: AbstractBaseUser, before: str | None = None, archived: bool = False) -> QuerySet[ChatInstance]:
    """The user's chats (the archived ones, or the others), pinned first, then the most recently active;
    with ``before`` (a chat id), those after it in that order: the next page of a list that ended with it."""
    chats = _chats(user).filter(archived=archived).order_by("-pinned", "-updated_at", "-id")
    if before is not None:
        edge = chat_get(user=user, chat_id=before)
        later = Q(updated_at__lt=edge.updated_at) | Q(updated_at=edge.updated_at, id__lt=edge.id)
        chats = chats.filter(Q(pinned__lt=edge.pinned) | (Q(pinned=edge.pinned) & later))
    return chats


def _chat_not_found(chat_id: str) -> NotFound:
    return NotFound(f"Chat '{chat_id}' was not found.", code="chat_not_found")


def chat_get(*, user: AbstractBaseUser, chat_id: str) -> ChatInstance:
    try:
        return _chats(user).get(public_id=chat_id)
    except ChatInstance.DoesNotExist:
        raise _chat_not_found(chat_id) from None


@functools.cache
def _chat_for_turn_sql() -> tuple[str, list[tuple[int, Col, list[Any]]], list[str], list[str]]:
    """The SELECT of ``chat_for_turn``; per column that needs them, the converters the ORM would apply; and
    the attribute names of the chat's and the model's columns."""
    qn = connection.ops.quote_name
    columns = [("c", f) for f in ChatInstance._meta.concrete_fields]
    columns += [("m", f) for f in ChatModel._meta.concrete_fields]
    chats, models = qn(ChatInstance._meta.db_table), qn(ChatModel._meta.db_table)
    messages = qn(Message._meta.db_table)
    sql = (
        f"SELECT {', '.join(f'{alias}.{qn(f.column)}' for alias, f in columns)}, a.public_id, "
        f"(SELECT MAX(seq) FROM {messages} WHERE chat_id = c.id) "
        f"FROM {chats} c INNER JOIN {models} m ON m.id = c.chat_model_id "
        f"LEFT JOIN {messages} a ON a.id = c.active_message_id WHERE c.public_id = %s AND c.owner_id = %s"
    )
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF c"  # the chat only: locking its model too would serialise every turn on that model
    elif connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    converters = []
    for index, (alias, field) in enumerate(columns):
        column = Col(alias, field)
        found = [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]
        if found:
            converters.append((index, column, found))
    chat_names = [f.attname for f in ChatInstance._meta.concrete_fields]
    model_names = [f.attname for f in ChatModel._meta.concrete_fields]
    return sql, converters, chat_names, model_names


def chat_for_turn(*, user: AbstractBaseUser, chat_id: str) -> ChatInstance:
    """The user's chat with its model, its active message's public id (``active_public_id``) and its highest
    ``seq`` (``last_seq``), its row locked until the transaction ends (where the database can).

    ``chat_get`` plus a row lock, in one plain statement: every turn starts here, and building the ORM's
    query cost more than running it.
    """
    sql, converters, chat_names, model_names = _chat_for_turn_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [chat_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise _chat_not_found(chat_id)
    values = list(row)
    for index, column, functions in converters:
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    chat = ChatInstance.from_db(connection.alias, chat_names, values[: len(chat_names)])
    chat.chat_model = ChatModel.from_db(connection.alias, model_names, values[len(chat_names) : -2])
    chat.active_public_id, chat.last_seq = values[-2], values[-1] or 0
    return chat


def message_list(*, chat: ChatInstance, after: int = 0, limit: int | None = None) -> list[Message]:
    """The chat's active branch, root first (those written after ``seq`` ``after``, the first ``limit``), each
    with its versions' ids."""
    active = chat.active_message_id
    if active is None:  # messages written without their tree (not by a turn): the branch of the newest
        active = newest_message(chat=chat)[0]
    branch = path_rows(active, "m.id, m.public_id")
    order = {pk: index for index, (pk, _) in enumerate(branch)}
    public_ids = dict(branch)
    queryset = (
        Message.objects.filter(pk__in=list(order), seq__gt=after)
        .select_related(*extensions.message_related())
        .prefetch_related("feedback")
    )
    messages = sorted(queryset, key=lambda message: order[message.pk])
    if limit:
        messages = messages[:limit]
    siblings = sibling_ids(chat.pk, {message.parent_id for message in messages})
    for message in messages:
        message.chat = chat  # Saves a query per message when serializing.
        message.sibling_ids = siblings[message.parent_id]
        message.parent_public_id = public_ids.get(message.parent_id) if message.parent_id else None
    return messages


def newest_message(*, chat: ChatInstance) -> tuple[int | None, str | None]:
    """The id and public id of the chat's last written message ((None, None) in an empty chat)."""
    newest = Message.objects.filter(chat=chat).order_by("-seq").values_list("pk", "public_id").first()
    return newest if newest is not None else (None, None)


def last_seq(*, chat: ChatInstance) -> int:
    """The highest ``seq`` in a conversation (0 if empty). Plain SQL: it runs on every turn."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(seq) FROM {Message._meta.db_table} WHERE chat_id = %s", [chat.pk])
        return cursor.fetchone()[0] or 0


def history_for(*, leaf_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The complete messages among the last ``limit`` of the branch that ends at ``leaf_id``, oldest first:
    what the LLM sees, in OpenAI's shape (a reply that called tools brings its calls and their results
    before its text).

    One query (``chat.domain.branches``) and plain dicts: it runs on every turn, and building model
    instances for a long history cost more than the query.
    """
    rows = path_rows(leaf_id, "m.role, m.content, m.tool_calls, m.status", limit=limit)
    history: list[dict[str, Any]] = []
    for role, content, tool_calls, status in rows:
        if status != Message.Status.COMPLETE:
            continue
        if tool_calls and tool_calls not in ("[]", []):
            history += tool_messages(json.loads(tool_calls) if isinstance(tool_calls, str) else tool_calls)
        history.append({"role": role, "content": content})
    return history


def tool_messages(tool_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A reply's stored tool calls as the model saw them: per step, the assistant's calls, then the results."""
    out: list[dict[str, Any]] = []
    for step in sorted({call.get("step", 0) for call in tool_calls}):
        calls = [call for call in tool_calls if call.get("step", 0) == step]
        out.append({
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["argumentsText"]}}
                for c in calls
            ],
        })  # fmt: skip
        out += [{"role": "tool", "tool_call_id": c["id"], "content": c.get("content", "")} for c in calls]
    return out


def chat_latest(*, user: AbstractBaseUser) -> ChatInstance | None:
    """The user's most recently active chat that has a message (an empty one is no place to pick up)."""
    said = Message.objects.filter(chat=OuterRef("pk"))
    return ChatInstance.objects.filter(Exists(said), owner=user).order_by("-updated_at").first()


def chat_find(*, user: AbstractBaseUser, chat_id: str) -> ChatInstance | None:
    """``chat_get`` for pages, which answer a missing chat themselves: None rather than ``NotFound``."""
    return ChatInstance.objects.filter(owner=user, public_id=chat_id).first()


def reply_streaming(*, chat_id: str) -> Message | None:
    """The chat's reply still streaming (there is at most one), or None."""
    streaming = Message.objects.filter(chat__public_id=chat_id, status=Message.Status.STREAMING)
    return streaming.select_related("parent").first()


def replies_streaming_before(*, cutoff: datetime, limit: int = 100) -> list[Message]:
    """Replies still streaming that were begun before ``cutoff`` (with their chats): orphans, maybe."""
    streaming = Message.objects.filter(status=Message.Status.STREAMING, created_at__lt=cutoff)
    return list(streaming.select_related("chat")[:limit])


def preset_list(*, user: AbstractBaseUser) -> QuerySet[Preset]:
    return Preset.objects.filter(owner=user).select_related("chat_model")


def preset_get(*, user: AbstractBaseUser, preset_id: str) -> Preset:
    preset = preset_list(user=user).filter(public_id=preset_id).first()
    if preset is None:
        raise NotFound(f"Preset '{preset_id}' was not found.", code="preset_not_found")
    return preset
