"""Reads. Every lookup of a conversation is scoped to its owner: another user's chat does not exist."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q, QuerySet

from chat.exceptions import NotFound
from chat.models import ChatInstance, ChatModel, Message


def chat_model_list() -> QuerySet[ChatModel]:
    return ChatModel.objects.filter(is_active=True)


def chat_model_get(*, model_id: str) -> ChatModel:
    """An active chat model by public id or by name."""
    try:
        return ChatModel.objects.get(Q(public_id=model_id) | Q(name=model_id), is_active=True)
    except (ChatModel.DoesNotExist, ChatModel.MultipleObjectsReturned):
        raise NotFound(f"Unknown or inactive chat model '{model_id}'.", code="model_not_found") from None


def chat_list(*, user: AbstractBaseUser) -> QuerySet[ChatInstance]:
    return ChatInstance.objects.filter(owner=user).select_related("chat_model")


def chat_get(*, user: AbstractBaseUser, chat_id: str, for_update: bool = False) -> ChatInstance:
    queryset = ChatInstance.objects.select_related("chat_model")
    if for_update:
        # Lock the chat row only: a plain FOR UPDATE on this join would also lock the chat model's row
        # and make every turn of every chat on that model wait for the others (PostgreSQL).
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(public_id=chat_id, owner=user)
    except ChatInstance.DoesNotExist:
        raise NotFound(f"Chat '{chat_id}' was not found.", code="chat_not_found") from None


def message_list(*, chat: ChatInstance, after: int = 0, limit: int | None = None) -> list[Message]:
    queryset = (
        Message.objects.filter(chat=chat, seq__gt=after)
        .select_related("audio")
        .prefetch_related("feedback")
        .order_by("seq")
    )
    if limit:
        queryset = queryset[:limit]
    messages = list(queryset)
    for message in messages:
        message.chat = chat  # Saves a query per message when serializing.
    return messages


def last_seq(*, chat: ChatInstance) -> int:
    """The highest ``seq`` in a conversation (0 if empty). Plain SQL: it runs on every turn."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(seq) FROM {Message._meta.db_table} WHERE chat_id = %s", [chat.pk])
        return cursor.fetchone()[0] or 0


def history_for(*, chat: ChatInstance, before_seq: int, limit: int) -> list[dict[str, str]]:
    """The last ``limit`` complete messages before ``before_seq``, oldest first: what the LLM sees.

    Plain SQL and plain dicts: it runs on every turn, and building model instances for a long history
    cost more than the query.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT role, content FROM {Message._meta.db_table} WHERE chat_id = %s AND seq < %s AND status = %s "
            "ORDER BY seq DESC LIMIT %s",
            [chat.pk, before_seq, Message.Status.COMPLETE, limit],
        )
        rows = cursor.fetchall()
    return [{"role": role, "content": content} for role, content in reversed(rows)]
