"""Writes. Views and consumers parse input and call these; each runs in one transaction where it matters."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat.domain import extensions
from chat.domain.branches import children_ids, descendants, newest_leaf
from chat.domain.cache import shared_cache
from chat.domain.context import check_message
from chat.domain.selectors import chat_for_turn, chat_get, chat_model_get, history_for, last_seq, newest_message
from chat.exceptions import BadRequest, Busy, ChatError, NotFound
from chat.fields import storable
from chat.models import ApiToken, ChatInstance, ChatModel, Feedback, McpServer, Message, Preset, hash_token


def title_from(content: str, limit: int = 60) -> str:
    """A one-line title from the first message, cut at a word boundary."""
    line = " ".join(content.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] or line[:limit]
    return cut.rstrip(",.;:") + "…"


def chat_create(
    *, user: AbstractBaseUser, chat_model: ChatModel, title: str = "", preset: Preset | None = None
) -> ChatInstance:
    """A new, empty chat; a preset gives it its system prompt and temperature (and its model, if the caller
    named none: ``chat_model`` is then the preset's)."""
    chat = ChatInstance(owner=user, chat_model=chat_model, title=title[:200])
    if preset is not None:
        chat.system_prompt, chat.temperature = preset.system_prompt, preset.temperature
    chat.save()
    return chat


def chat_for_session(*, user: AbstractBaseUser, session_id: str, chat_model: ChatModel) -> ChatInstance:
    """The caller's conversation named by an API client's session id (a ``ci_`` id or any string of theirs)."""
    chat = ChatInstance.objects.filter(owner=user).filter(Q(public_id=session_id) | Q(session_key=session_id)).first()
    if chat is not None:
        return chat
    try:
        with transaction.atomic():
            return ChatInstance.objects.create(owner=user, chat_model=chat_model, session_key=session_id[:200])
    except IntegrityError:  # Two first requests of the same session at once.
        return ChatInstance.objects.get(owner=user, session_key=session_id[:200])


def chat_from_messages(
    *, user: AbstractBaseUser, chat_model: ChatModel, messages: list[dict[str, str]]
) -> ChatInstance:
    """A new conversation holding the history a stateless API request brought (its system prompt aside)."""
    with transaction.atomic():
        chat = ChatInstance.objects.create(owner=user, chat_model=chat_model)
        history = [m for m in messages if m["role"] in (Message.Role.USER, Message.Role.ASSISTANT)]
        parent = None
        for seq, m in enumerate(history, start=1):  # one branch, each message after the one before
            parent = Message.objects.create(
                chat=chat, parent=parent, seq=seq, role=m["role"], content=m["content"], completed_at=timezone.now()
            )
        if parent is not None:
            ChatInstance.objects.filter(pk=chat.pk).update(active_message=parent)
            chat.active_message_id = parent.pk
    return chat


def turn_ephemeral(*, chat_model: ChatModel, content: str) -> TurnBegun:
    """A turn that is not stored (stateless OpenAI-compatible requests bring their own history)."""
    chat = ChatInstance(chat_model=chat_model)
    user_message = Message(chat=chat, seq=1, role=Message.Role.USER, content=content)
    reply = Message(chat=chat, seq=2, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING)
    return TurnBegun(chat, chat_model, user_message, reply, [], persist=False)


CHAT_FIELDS = ("title", "chat_model", "system_prompt", "temperature", "pinned", "archived")


def chat_update(*, chat: ChatInstance, **changes: Any) -> ChatInstance:
    """Set the given fields of ``CHAT_FIELDS`` (``temperature=None``: the model's again)."""
    unknown = set(changes) - set(CHAT_FIELDS)
    assert not unknown, f"not a chat field: {unknown}"
    for name, value in changes.items():
        setattr(chat, name, value)
    chat.title = chat.title[:200]
    if changes:
        chat.save(update_fields=list(changes))
    return chat


def chat_switch_branch(*, chat: ChatInstance, message_id: str) -> ChatInstance:
    """Make the branch through ``message_id`` the chat's active one, down to its newest message."""
    message = Message.objects.filter(chat=chat, public_id=message_id).first()
    if message is None:
        raise _message_not_found(message_id)
    if Message.objects.filter(chat=chat, status=Message.Status.STREAMING).exists():
        raise Busy("A reply is still being written. Stop it first, or wait for it to end.")
    chat.active_message_id, chat.active_public_id = newest_leaf(message.pk)
    ChatInstance.objects.filter(pk=chat.pk).update(active_message_id=chat.active_message_id)
    return chat


def _message_not_found(message_id: str) -> NotFound:
    return NotFound(f"No message '{message_id}' was found in this chat.", code="message_not_found")


def message_delete(*, user: AbstractBaseUser, message_id: str) -> ChatInstance:
    """Delete a message and everything after it on its branches; the chat's active branch moves to a
    remaining version of it (or ends where it began). Refused while one of them is streaming."""
    with transaction.atomic():
        message = Message.objects.select_related("chat").filter(public_id=message_id, chat__owner=user).first()
        if message is None:
            raise NotFound(f"No message '{message_id}' was found in your chats.", code="message_not_found")
        chat = ChatInstance.objects.select_for_update().get(pk=message.chat_id)
        doomed = descendants(message.pk, "m.id, m.status")
        if any(status == Message.Status.STREAMING for _, status in doomed):
            raise Busy("A reply after this message is still being written. Stop it first.")
        Message.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
        if chat.active_message_id is None or chat.active_message_id in {pk for pk, _ in doomed}:
            chat.active_message_id, chat.active_public_id = _branch_after_delete(chat, message)
            ChatInstance.objects.filter(pk=chat.pk).update(active_message_id=chat.active_message_id)
    return chat


def _branch_after_delete(chat: ChatInstance, deleted: Message) -> tuple[int | None, str | None]:
    """Where the active branch goes when its end was deleted: the newest remaining version of the deleted
    message, else the message before it."""
    remaining = Message.objects.filter(chat=chat, parent_id=deleted.parent_id).order_by("-id").first()
    if remaining is not None:
        return newest_leaf(remaining.pk)
    if deleted.parent_id is None:
        return None, None
    return deleted.parent_id, Message.objects.values_list("public_id", flat=True).get(pk=deleted.parent_id)


def chat_delete(*, chat: ChatInstance) -> None:
    chat.delete()


PRESET_FIELDS = ("name", "system_prompt", "chat_model", "temperature")


def preset_save(*, user: AbstractBaseUser, preset: Preset | None = None, **values: Any) -> Preset:
    """Create a preset of ``user``'s (``preset`` None) or change one, from the given ``PRESET_FIELDS``."""
    unknown = set(values) - set(PRESET_FIELDS)
    assert not unknown, f"not a preset field: {unknown}"
    if preset is None:
        preset = Preset(owner=user)
    for name, value in values.items():
        setattr(preset, name, value)
    preset.save()
    return preset


@dataclass(slots=True)
class TurnBegun:
    """The rows a turn works on. ``replay`` is set when a known clientMessageId named an earlier turn."""

    chat: ChatInstance
    chat_model: ChatModel
    user_message: Message
    assistant_message: Message
    history: list[dict[str, Any]]  # the prior messages the model sees, in OpenAI's shape
    replay: bool = False
    # False for stateless API requests: the same turn runs, but nothing is written or pushed.
    persist: bool = True
    # The active MCP servers whose tools the chat model may call (read with the turn's other rows).
    tool_servers: list[McpServer] = field(default_factory=list)
    # Whether ``user_message`` was written by this turn (a regenerated or continued reply answers an old one).
    new_user_message: bool = True
    # A continued reply: the text it already had, which the model goes on from.
    continues: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a turn goes in the conversation's tree. By default its message follows the active branch."""

    parent_id: str | None = None  # the message the new one follows (a sibling of the one it replaces)
    root: bool = False  # the new message is a first message (an edit of the chat's first question)
    regenerate_id: str | None = None  # a new version of this reply, to the same question
    continue_id: str | None = None  # more of this reply (stopped, or cut at its length limit)


FOLLOW_ACTIVE = Placement()


def turn_find_replay(chat: ChatInstance, chat_model: ChatModel, client_message_id: str) -> TurnBegun | None:
    user_message = (
        Message.objects.filter(chat=chat, client_message_id=client_message_id)
        .select_related("parent", *extensions.message_related())
        .first()
    )
    if user_message is None:
        return None
    replies = Message.objects.filter(chat=chat, parent=user_message, role=Message.Role.ASSISTANT).order_by("id")
    assistant = replies.select_related("chat_model").first()
    user_message.sibling_ids = children_ids(chat.pk, user_message.parent_id)
    user_message.parent_public_id = user_message.parent.public_id if user_message.parent else None
    if assistant is not None:
        assistant.sibling_ids = children_ids(chat.pk, user_message.pk)
        assistant.parent_public_id = user_message.public_id
    for message in (user_message, assistant):
        if message is not None:
            message.chat = chat
    return TurnBegun(chat, (assistant and assistant.chat_model) or chat_model, user_message, assistant, [], True)


def turn_begin(
    *,
    user: AbstractBaseUser,
    chat_id: str,
    model_id: str | None,
    content: str,
    source: str = Message.Source.TEXT,
    client_message_id: str | None = None,
    placement: Placement = FOLLOW_ACTIVE,
) -> TurnBegun:
    """Save the user's message and an empty streaming reply, or find the turn a retry refers to; or, with
    ``placement``, a new version of a reply or more of one (``content`` is then unused).

    ``model_id`` None means the chat's own model. Raises ``NotFound`` for an unknown chat, model or message
    and ``Busy`` while the chat is still answering.
    Every turn starts here, so a plain one is kept to six statements in one transaction: lock the chat
    (read with its model, usually the one asked for, its active message and its last ``seq``), read the
    branch the model sees and the model's MCP servers, insert both messages (the reply needs its question's
    id), touch the chat. A reply still streaming is refused by the one-streaming-reply-per-chat constraint.
    """
    try:
        with transaction.atomic():
            chat = chat_for_turn(user=user, chat_id=chat_id)
            chat_model = turn_model(chat, model_id)
            if client_message_id and (replay := turn_find_replay(chat, chat_model, client_message_id)):
                return replay
            if placement.regenerate_id or placement.continue_id:
                return _turn_again(chat, chat_model, placement)
            seq = chat.last_seq or 0  # read with the chat
            if seq and chat.active_message_id is None:  # messages written without their tree: follow the newest
                chat.active_message_id, chat.active_public_id = newest_message(chat=chat)
            parent_id, parent_public_id = _parent_for(chat, placement)
            drafted = _turn_messages(
                chat, chat_model, seq, content, source, client_message_id, timezone.now(), parent_id
            )
            drafted[0].parent_public_id = parent_public_id
            return _insert_turn(chat, chat_model, *drafted)
    except IntegrityError:
        # A concurrent request won the race: either the same retry (replay it) or another turn (busy).
        if client_message_id:
            chat = chat_get(user=user, chat_id=chat_id)
            if replay := turn_find_replay(chat, chat_model, client_message_id):
                return replay
        raise Busy() from None


def turn_preview(
    *, user: AbstractBaseUser, chat_id: str, content: str, source: str = Message.Source.VOICE
) -> TurnBegun:
    """The turn ``turn_begin`` would begin with ``content`` in the chat's own model, read but not saved:
    what a reply begun before its turn is asked with (``chat.turns.speculation``)."""
    chat = chat_get(user=user, chat_id=chat_id)
    chat_model = turn_model(chat, None)
    user_message, reply = _turn_messages(
        chat, chat_model, last_seq(chat=chat), content, source, None, timezone.now(), chat.active_message_id
    )
    history, servers = _turn_context(chat, chat_model, user_message.parent_id)
    return TurnBegun(chat, chat_model, user_message, reply, history, persist=False, tool_servers=servers)


def turn_model(chat: ChatInstance, model_id: str | None) -> ChatModel:
    """The model a turn asks: the one named, or the chat's own when none is (the chat's is already loaded)."""
    chat_model = chat.chat_model
    if chat_model.is_active and model_id in (None, chat_model.public_id, chat_model.name):
        return chat_model
    return chat_model_get(model_id=model_id or chat_model.public_id)


def _turn_messages(
    chat: ChatInstance,
    chat_model: ChatModel,
    last_seq: int,
    content: str,
    source: str,
    client_message_id: str | None,
    now: datetime,
    parent_id: int | None,
) -> tuple[Message, Message]:
    """A turn's two rows, not yet saved: the user's message (after ``parent_id``) and the empty streaming
    reply (after it, once it has an id)."""
    user_message = Message(
        chat=chat,
        parent_id=parent_id,
        seq=last_seq + 1,
        role=Message.Role.USER,
        content=content,
        source=source,
        status=Message.Status.COMPLETE,
        client_message_id=client_message_id,
        completed_at=now,
    )
    assistant = Message(
        chat=chat,
        seq=last_seq + 2,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        chat_model=chat_model,
    )
    return user_message, assistant


def _parent_for(chat: ChatInstance, placement: Placement) -> tuple[int | None, str | None]:
    """The message a new user message follows (its id and public id): the active branch's last, a first
    message's none, or the one named (an edit: the new message becomes a version of the one that followed
    it)."""
    if placement.root:
        return None, None
    if placement.parent_id is None:
        return chat.active_message_id, chat.active_public_id
    parent = Message.objects.filter(chat=chat, public_id=placement.parent_id).values_list("pk", flat=True).first()
    if parent is None:
        raise _message_not_found(placement.parent_id)
    return parent, placement.parent_id


def _turn_context(
    chat: ChatInstance, chat_model: ChatModel, parent_id: int | None
) -> tuple[list[dict[str, Any]], list[McpServer]]:
    """What the model sees before a turn's message: the branch up to ``parent_id``, and the MCP servers whose
    tools it may call."""
    history = history_for(leaf_id=parent_id, limit=settings.CHAT_HISTORY_LIMIT)
    return history, list(McpServer.objects.filter(chat_models=chat_model, is_active=True))


def _insert_turn(chat: ChatInstance, chat_model: ChatModel, user_message: Message, assistant: Message) -> TurnBegun:
    """Save a turn's two rows (``_turn_messages``) and touch the chat; the turn with what its model sees."""
    # Refused before anything is saved.
    check_message(chat_model, user_message.content, chat.system_prompt_for(chat_model))
    parent_id = user_message.parent_id
    history, servers = _turn_context(chat, chat_model, parent_id)
    # The active branch ends at a message nothing follows yet, so a message after it has no other versions.
    earlier = [] if parent_id == chat.active_message_id else children_ids(chat.pk, parent_id)
    _insert_messages([user_message])
    assistant.parent_id, assistant.parent_public_id = user_message.pk, user_message.public_id
    _insert_messages([assistant])
    user_message.sibling_ids, assistant.sibling_ids = [*earlier, user_message.public_id], [assistant.public_id]
    chat.title = chat.title or title_from(user_message.content)
    _touch(chat, chat_model, assistant, user_message.completed_at)
    return TurnBegun(chat, chat_model, user_message, assistant, history, tool_servers=servers)


def _touch(chat: ChatInstance, chat_model: ChatModel, active: Message, now: datetime) -> None:
    """A turn's chat: active now, with this model, its branch ending at ``active``."""
    chat.updated_at, chat.chat_model, chat.active_message_id = now, chat_model, active.pk
    with connection.cursor() as cursor:  # Plain SQL: it runs on every turn (the ORM's save cost 5x more).
        cursor.execute(
            f"UPDATE {ChatInstance._meta.db_table} SET updated_at = %s, chat_model_id = %s, title = %s, "
            "active_message_id = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(now), chat_model.pk, chat.title, active.pk, chat.pk],
        )


CONTINUABLE = "A reply can be continued when it was stopped or cut at its length limit."


def _turn_again(chat: ChatInstance, chat_model: ChatModel, placement: Placement) -> TurnBegun:
    """A new version of a reply (regenerate) or more of it (continue), answering the same question."""
    target_id = placement.regenerate_id or placement.continue_id
    assert target_id is not None
    target = Message.objects.filter(chat=chat, public_id=target_id).select_related("parent__parent").first()
    if target is None:
        raise _message_not_found(target_id)
    question = target.parent
    if target.role != Message.Role.ASSISTANT or question is None or question.role != Message.Role.USER:
        raise BadRequest("Only a reply to a question can be regenerated or continued.", code="not_a_reply")
    question.chat = chat
    question.parent_public_id = question.parent.public_id if question.parent else None
    history, servers = _turn_context(chat, chat_model, question.parent_id)
    seq, now = (chat.last_seq or 0) + 1, timezone.now()
    if placement.regenerate_id:
        reply = Message(chat=chat, parent=question, seq=seq, role=Message.Role.ASSISTANT,
                        status=Message.Status.STREAMING, chat_model=chat_model)  # fmt: skip
        _insert_messages([reply])
        continues = None
    else:
        if Message.objects.filter(parent=target).exists():
            raise ChatError("Only the last reply of a branch can be continued.", code="cannot_continue", status=409)
        stopped = target.status == Message.Status.INTERRUPTED
        if not stopped and not (target.status == Message.Status.COMPLETE and target.finish_reason == "length"):
            raise ChatError(CONTINUABLE, code="cannot_continue", status=409)
        # It streams again, as the chat's newest message: its seq moves up so tabs catching up by seq get it.
        Message.objects.filter(pk=target.pk).update(status=Message.Status.STREAMING, seq=seq, completed_at=None)
        reply, continues = target, target.content
        reply.chat, reply.status, reply.seq, reply.chat_model = chat, Message.Status.STREAMING, seq, chat_model
    question.sibling_ids = children_ids(chat.pk, question.parent_id)
    reply.sibling_ids, reply.parent_public_id = children_ids(chat.pk, question.pk), question.public_id
    _touch(chat, chat_model, reply, now)
    return TurnBegun(chat, chat_model, question, reply, history, tool_servers=servers, new_user_message=False,
                     continues=continues)  # fmt: skip


@functools.cache
def _insert_fields() -> list:
    return [f for f in Message._meta.concrete_fields if not f.primary_key]


@functools.cache
def _insert_sql(rows: int) -> str:
    fields = _insert_fields()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)
    return f"INSERT INTO {Message._meta.db_table} ({columns}) VALUES {values} RETURNING id, seq"


def _insert_messages(messages: list[Message]) -> None:
    """``bulk_create`` for the two rows of every turn, as one plain INSERT (the ORM's cost 3x more to build).

    Each field's value is prepared as the ORM would (defaults, ``auto_now_add``, database adaptation).
    """
    if not connection.features.can_return_rows_from_bulk_insert:
        for message in messages:
            message.save(force_insert=True)
        return
    params = [f.get_db_prep_save(f.pre_save(m, True), connection) for m in messages for f in _insert_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(len(messages)), params)
        ids = dict((seq, pk) for pk, seq in cursor.fetchall())
    for message in messages:
        message.pk = ids[message.seq]
        message._state.adding, message._state.db = False, connection.alias


# What the end of a turn writes: the reply's content, outcome, usage and timings.
FINAL_FIELDS = [
    "content", "reasoning", "status", "finish_reason", "error_code", "error_detail",
    "prompt_tokens", "completion_tokens", "ttft_ms", "duration_ms", "completed_at", "tool_calls", "context_trimmed",
]  # fmt: skip


@functools.cache
def _final_fields() -> list[Any]:
    return [Message._meta.get_field(name) for name in FINAL_FIELDS]


@functools.cache
def _finish_sql() -> str:
    assignments = ", ".join(f"{Message._meta.get_field(name).column} = %s" for name in FINAL_FIELDS)
    return f"UPDATE {Message._meta.db_table} SET {assignments} WHERE id = %s AND status = %s"


def message_finish(
    *,
    message: Message,
    content: str,
    reasoning: str,
    status: str,
    finish_reason: str = "",
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    ttft_ms: int | None = None,
    duration_ms: int | None = None,
    error_code: str = "",
    error_detail: str = "",
    tool_calls: list[dict[str, Any]] | None = None,
    context_trimmed: int | None = None,
) -> Message:
    """Write the final state of a reply: one UPDATE, whatever the number of tokens or tool calls."""
    # Pushed to the tabs as it is stored: text from the model and the tools without NUL (``chat.fields``).
    message.content, message.reasoning, message.status = storable(content), storable(reasoning), status
    message.tool_calls = storable(tool_calls or [])
    message.finish_reason, message.error_code = finish_reason, error_code
    message.error_detail = storable(error_detail)
    message.prompt_tokens, message.completion_tokens = prompt_tokens, completion_tokens
    message.ttft_ms, message.duration_ms = ttft_ms, duration_ms
    message.context_trimmed = context_trimmed
    message.completed_at = timezone.now()
    if not message.pk:
        return message  # A turn that is not stored (stateless API request).
    # Only a row that is still streaming is finished here, so a stop and a disconnect cannot both write it.
    # Plain SQL: it runs once per turn and the ORM's UPDATE cost several times more to build.
    values = [final.get_db_prep_save(getattr(message, final.attname), connection) for final in _final_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_finish_sql(), [*values, message.pk, Message.Status.STREAMING])
        updated = cursor.rowcount
    if not updated:
        message_refresh_final(message=message)
    return message


def message_refresh_final(*, message: Message) -> Message:
    """Reload the fields a finished reply has; cached relations (its chat) stay, for serializing."""
    message.refresh_from_db(fields=FINAL_FIELDS)
    return message


def messages_interrupt_orphans(*, message_ids: list[int] | None = None) -> int:
    """Mark replies left ``streaming`` by a process that is gone as ``interrupted``."""
    queryset = Message.objects.filter(status=Message.Status.STREAMING)
    if message_ids is not None:
        queryset = queryset.filter(pk__in=message_ids)
    return queryset.update(
        status=Message.Status.INTERRUPTED,
        finish_reason="server_restart",
        error_detail="The server stopped while this reply was streaming.",
        completed_at=timezone.now(),
    )


def feedback_set(*, user: AbstractBaseUser, message_id: str, rating: int | None, comment: str = "") -> Feedback | None:
    """Record (or, with no rating, withdraw) a person's feedback on a reply in one of their chats."""
    message = Message.objects.filter(public_id=message_id, chat__owner=user, role=Message.Role.ASSISTANT).first()
    if message is None:
        raise NotFound("No reply with this id was found in your chats.", code="message_not_found")
    if rating is None:
        Feedback.objects.filter(message=message, user=user).delete()
        return None
    feedback, _ = Feedback.objects.update_or_create(
        message=message, user=user, defaults={"rating": rating, "comment": comment[:2000]}
    )
    return feedback


def api_token_create(*, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored."""
    raw, key_hash, prefix = ApiToken.generate()
    return ApiToken.objects.create(user=user, name=name, key_hash=key_hash, prefix=prefix), raw


TOKEN_CACHE_SECONDS = 60


def _token_cache_key(key_hash: str) -> str:
    return f"apitoken:{key_hash}"


def api_token_authenticate(*, raw: str) -> AbstractBaseUser | None:
    """The active user a bearer token belongs to, or None.

    Every API call starts here, so the answer is cached for a minute (as often as ``last_used_at`` is
    written anyway). Revoking or deleting a token, or changing its user, drops the cached answer at once
    (``token_cache_forget``, called from the model signals in ``chat.apps``).
    """
    user = api_token_cached_user(raw=raw)
    return user if user is not None else api_token_lookup(raw=raw)


def api_token_cached_user(*, raw: str) -> AbstractBaseUser | None:
    """The cached answer of ``api_token_authenticate``, when there is one (None is "not cached")."""
    return shared_cache().get(_token_cache_key(hash_token(raw)))


def api_token_lookup(*, raw: str) -> AbstractBaseUser | None:
    """``api_token_authenticate`` from the database, without reading the cache; caches the answer."""
    key_hash = hash_token(raw)
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash, revoked=False).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    shared_cache().set(_token_cache_key(key_hash), token.user, TOKEN_CACHE_SECONDS)
    return token.user


def token_cache_forget(*, key_hashes: list[str]) -> None:
    shared_cache().delete_many([_token_cache_key(key_hash) for key_hash in key_hashes])
