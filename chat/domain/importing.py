"""Import another chat service's export as a person's chats: ChatGPT's ``conversations.json`` (or the zip of
the whole export), with its branches and the branch the person was on.

The format, as OpenAI's data export writes it and the importers that read it (LibreChat, Open WebUI) found it:

- The file is a JSON array of conversations ``{title, create_time, update_time, mapping, current_node, …}``;
  times are epoch seconds, floats, sometimes null. Newer exports split it into ``conversations-000.json``,
  ``conversations-001.json``… inside the zip. An entry without ``mapping`` is not a conversation.
- ``mapping`` is ``{node id: {id, message, parent, children}}``, a tree by ``parent`` (``children`` says the
  same and is missing from some exports, so it is not read). The root's ``message`` is null. Nodes with the
  same parent are versions: an edited question, a regenerated reply. ``current_node`` is where the person
  left the conversation.
- A ``message`` is ``{author: {role}, create_time, content: {content_type, parts | text | …}, metadata,
  recipient}``. A message becomes one here when a person saw it: user and assistant messages, not system
  or tool ones, not those ``metadata.is_visually_hidden_from_conversation`` (custom instructions, context),
  not the assistant's calls to its tools (``recipient`` other than ``all``), not empty ones. A reasoning
  model's ``thoughts`` become the ``reasoning`` of the reply after them. A reply that ChatGPT shows as one
  (text, a tool call, more text: several assistant nodes in a row) is one message.

Nodes left out are bridged: what follows one attaches to the nearest message kept above it. Messages are
numbered (``seq``) by ``create_time`` as far as the tree allows (a message always comes after the one it
follows; timestamps in exports sometimes say otherwise). The file is read a conversation at a time, never
whole, and imported in one transaction: a file with any invalid conversation imports nothing.
"""

from __future__ import annotations

import codecs
import heapq
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from chat.domain.selectors import chat_model_list
from chat.domain.services import title_from
from chat.exceptions import BadRequest, ChatError, NotFound
from chat.models import ChatInstance, ChatModel, Message
from config.limits import size_text

FORMATS = ("chatgpt",)
CHUNK_BYTES = 256 * 1024
# One conversation is decoded whole (its tree must be read before any of it is written): the most one may
# take of the file, whatever IMPORT_MAX_BYTES allows.
CHAT_MAX_BYTES = 32 * 1024 * 1024
# zipfile reads a zip's central directory whole, one object per file listed: the most it may be (about
# 70,000 files with an export's names), so that a listing of millions of empty files is refused unread.
ZIP_MAX_DIRECTORY_BYTES = 8 * 1024 * 1024
# Conversations are written in batches of about this many messages: a few statements per batch.
BATCH_MESSAGES = 1000

_NOT_SPACE = re.compile(r"[^ \t\n\r]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHARD = re.compile(r"conversations-\d+\.json")
# Content that is the service's own, never shown as a message: reasoning summaries ("Thought for 5s"),
# custom instructions, the model's memory.
_NOT_SHOWN = {"reasoning_recap", "user_editable_context", "model_editable_context"}


class _Invalid(Exception):
    """What is wrong with the file, said for a person (the caller adds which file and which conversation)."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_import"):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def _too_large(message: str) -> _Invalid:
    return _Invalid(message, status=413, code="import_too_large")


@dataclass(slots=True)
class ImportResult:
    chats: list[ChatInstance]  # the chats made, their active messages' public ids set (``active_public_id``)
    messages: int
    skipped: int  # entries with no message a person saw (or no ``mapping``)


def chats_import(*, user: AbstractBaseUser, source: IO[bytes], name: str, format: str = "chatgpt") -> ImportResult:
    """Import an export as ``user``'s chats, all or nothing. ``source`` is the file, seekable: ChatGPT's
    conversations.json or the zip of the whole export; ``name`` names it in errors. Raises ``ChatError``."""
    if format not in FORMATS:
        supported = ", ".join(FORMATS)
        raise BadRequest(
            f"Unknown import format {_short(format)!r}. Supported: {supported}.", code="unsupported_format"
        )
    chat_model = chat_model_list().first()
    if chat_model is None:
        raise NotFound("No chat model is configured. An admin can add one.", code="model_not_found")
    importer = _Importer(user, chat_model)
    try:
        _check_size(source)
        with transaction.atomic():
            for label, stream in _streams(source, name):
                importer.read(label, stream)
            importer.writer.flush()
    except _Invalid as error:
        raise ChatError(error.message, code=error.code, status=error.status) from None
    if not importer.writer.chats:
        found = f"{importer.seen} entries, none with a message" if importer.seen else "no conversations"
        raise BadRequest(f"{name}: nothing to import ({found}). Is it ChatGPT's conversations.json?",
                         code="nothing_to_import")  # fmt: skip
    return ImportResult(importer.writer.chats, importer.writer.messages, importer.seen - len(importer.writer.chats))


def _check_size(source: IO[bytes]) -> None:
    size = source.seek(0, 2)
    source.seek(0)
    if size > settings.IMPORT_MAX_BYTES:
        limit = _size(settings.IMPORT_MAX_BYTES)
        raise _too_large(f"The file is too large ({_size(size)}); the limit is {limit}.")


_size = size_text


class _Importer:
    """Reads conversations from one or more files, converts each and hands it to the writer."""

    def __init__(self, user: AbstractBaseUser, chat_model: ChatModel):
        self.writer = _Writer(user, chat_model)
        self.seen = 0  # entries of the array(s) read
        self.bytes_read = 0

    def read(self, label: str, stream: IO[bytes]) -> None:
        reader = _ArrayReader(lambda size: self._read(stream, size))
        title: Any = None
        try:
            for raw in reader:
                self.seen += 1
                if self.seen > settings.IMPORT_MAX_CHATS:
                    break
                title = raw.get("title") if isinstance(raw, dict) else None
                chat = _conversation(raw)
                if chat is not None:
                    self.writer.add(chat)
                title = None
        except _Invalid as error:
            where = f"conversation {reader.index}: " if reader.index else ""
            if where and isinstance(title, str) and title.strip():
                where = f"conversation {reader.index} ('{_short(title.strip(), 60)}'): "
            raise _Invalid(f"{label}: {where}{error.message}", status=error.status, code=error.code) from None
        if self.seen > settings.IMPORT_MAX_CHATS:
            limit = settings.IMPORT_MAX_CHATS
            raise _too_large(
                f"{label}: it holds more than {limit:,} conversations, the most an import may"
            )

    def _read(self, stream: IO[bytes], size: int) -> bytes:
        try:
            data = stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
            raise _Invalid(f"the zip is damaged or uses what cannot be read here ({error})") from None
        self.bytes_read += len(data)
        if self.bytes_read > settings.IMPORT_MAX_BYTES:
            raise _too_large(f"the export is larger than {_size(settings.IMPORT_MAX_BYTES)}")
        return data


# --- Reading: one element of the array at a time ------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _ArrayReader:
    """The elements of a JSON array, decoded one at a time from UTF-8 bytes (``read(size)``): at most one
    element and a chunk are held. An element is tried when the buffer may hold it, and again when the
    buffer has doubled, so each is decoded about twice at most."""

    def __init__(self, read: Callable[[int], bytes]):
        self.index = 0  # the element being read, from 1
        self._read = read
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder(parse_constant=_no_constant)
        self._buffer, self._pos, self._eof = "", 0, False

    def __iter__(self) -> Iterator[Any]:
        start = self._next_char()
        if start == "\ufeff":  # a byte order mark
            self._pos += 1
            start = self._next_char()
        if start != "[":
            raise _Invalid(_not_an_array(start))
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
        else:
            while True:
                self.index += 1
                yield self._element()
                char = self._next_char()
                self._pos += 1
                if char == "]":
                    break
                if char != ",":
                    raise _Invalid(_broken(char))
        self.index = 0
        if self._next_char() is not None:
            raise _Invalid("there is more after the array of conversations: it is not valid JSON")

    def _chunk(self) -> str:
        """The next chunk of the stream as text ("" at its end, and then ``_eof``)."""
        data = self._read(CHUNK_BYTES)
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _Invalid("it is not UTF-8 text: not a JSON export") from None
        self._eof = not data
        return text

    def _more(self, goal: int = 1) -> bool:
        """Read until the buffer holds ``goal`` characters after the position, or the stream ends (dropping
        what was read); False when the stream had ended."""
        if self._eof:
            return False
        pieces, held = [self._buffer[self._pos :]], len(self._buffer) - self._pos
        while True:  # joined once: a long element is not copied at every chunk
            pieces.append(text := self._chunk())
            held += len(text)
            if held >= goal or self._eof:
                break
        self._buffer, self._pos = "".join(pieces), 0
        return True

    def _next_char(self) -> str | None:
        """The next character that is not white space, not consumed; None at the end of the stream."""
        while (found := _NOT_SPACE.search(self._buffer, self._pos)) is None:
            self._pos = len(self._buffer)
            if not self._more():
                return None
        self._pos = found.start()
        return self._buffer[self._pos]

    def _element(self) -> Any:
        if self._next_char() is None:
            raise _Invalid("the file ends before it: it was cut short")
        while True:
            try:
                value, self._pos = self._decoder.raw_decode(self._buffer, self._pos)
                return value
            except json.JSONDecodeError as error:
                held, unterminated = len(self._buffer) - self._pos, error.msg.startswith("Unterminated string")
                if self._eof and (unterminated or error.pos >= len(self._buffer)):
                    raise _Invalid("the file ends in the middle of it: it was cut short") from None
                # Otherwise the element may go on past the buffer only if the error is at its very end (a token
                # cut in two) or in a string still open.
                if self._eof or not (unterminated or error.pos >= len(self._buffer) - 16):
                    raise _Invalid(f"it is not valid JSON ({error.msg})") from None
                if held > CHAT_MAX_BYTES:
                    raise _too_large(f"it is larger than {_size(CHAT_MAX_BYTES)}, the most one conversation may "
                                     "take") from None  # fmt: skip
                self._more(max(2 * held, held + CHUNK_BYTES))
            except ValueError as error:  # NaN and Infinity, integers of more than 4,300 digits
                raise _Invalid(f"it is not valid JSON ({error})") from None
            except RecursionError:
                raise _Invalid("it is nested too deeply (JSON arrays and objects more than about 900 levels "
                               "inside one another)") from None  # fmt: skip


def _not_an_array(start: str | None) -> str:
    if start is None:
        return "the file is empty"
    if start == "{":
        return "it is a JSON object; ChatGPT's conversations.json is an array of conversations"
    return "it is not JSON (ChatGPT's conversations.json is a JSON array of conversations)"


def _broken(char: str | None) -> str:
    if char is None:
        return "the file ends after it: it was cut short"
    return f"it is not valid JSON (',' or ']' expected after it, found {char!r})"


# --- Converting a conversation ------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Draft:
    """A message to write: what it says, what it follows, when it was written."""

    role: str
    content: str
    reasoning: str
    time: float
    order: int  # its node's place in the tree, for messages of the same time
    parent: _Draft | None
    kept_children: int = 0  # drafts that follow it, before merging
    into: _Draft | None = None  # the reply it was merged into
    children: list[_Draft] = field(default_factory=list)
    seq: int = 0
    row: Message | None = None

    def final(self) -> _Draft:
        return self.into or self

    @property
    def pk(self) -> int:
        assert self.row is not None and self.row.pk is not None, "written"
        return self.row.pk

    @property
    def public_id(self) -> str:
        assert self.row is not None, "written"
        return str(self.row.public_id)


@dataclass(slots=True)
class _Chat:
    title: str
    created: float
    updated: float
    drafts: list[_Draft]  # in seq order
    active: _Draft


def _conversation(raw: Any) -> _Chat | None:
    """A conversation of the export as drafts, or None when it has no message a person saw."""
    if not isinstance(raw, dict):
        raise _Invalid("it is not a JSON object")
    mapping = raw.get("mapping")
    if mapping is None:
        return None  # not a conversation: a project, a folder
    if not isinstance(mapping, dict):
        raise _Invalid("its 'mapping' is not an object")
    if len(mapping) > settings.IMPORT_MAX_MESSAGES:
        raise _too_large(f"it has {len(mapping):,} messages; the limit is {settings.IMPORT_MAX_MESSAGES:,}")
    title = _string(raw.get("title"), "its 'title'")
    created = _time(raw.get("create_time"), "its 'create_time'")
    updated = _time(raw.get("update_time"), "its 'update_time'")
    current = raw.get("current_node")
    if current is not None and (not isinstance(current, str) or current not in mapping):
        raise _Invalid(f"its current_node {_short(current)!r} is not one of its messages")
    start = created if created is not None else timezone.now().timestamp()
    drafts, above = _drafts(mapping, _tree_order(mapping), start)
    drafts = _merge_replies(drafts)
    if not drafts:
        return None
    ordered = _numbered(drafts)
    active = above.get(current) if current is not None else None
    active = _newest_after(active.final() if active is not None else ordered[-1])
    title = title.strip() or title_from(next((d.content for d in ordered if d.role == "user"), ""))
    first, last = ordered[0].time, max(d.time for d in ordered)
    created = created if created is not None else first
    return _Chat(_clean(title)[:200], created, updated if updated is not None else max(last, created), ordered, active)


def _tree_order(mapping: dict[str, Any]) -> list[str]:
    """The node ids, each after its parent (breadth first from the roots, in the mapping's order). Refuses a
    parent that does not exist and parent links that go round in a cycle."""
    children: dict[str | None, list[str]] = {}
    for node_id, node in mapping.items():
        if not isinstance(node, dict):
            raise _Invalid(f"node {_short(node_id)!r} is not an object")
        parent = node.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise _Invalid(f"node {_short(node_id)!r} has a parent that is not a node id")
        if parent is not None and parent not in mapping:
            raise _Invalid(f"node {_short(node_id)!r} has a parent that does not exist ({_short(parent)!r})")
        children.setdefault(parent, []).append(node_id)
    order = list(children.get(None, ()))
    index = 0
    while index < len(order):
        order.extend(children.get(order[index], ()))
        index += 1
    if len(order) < len(mapping):
        placed = set(order)
        stray = next(node_id for node_id in mapping if node_id not in placed)
        raise _Invalid(f"node {_short(stray)!r} does not lead back to the start of the conversation: its parent "
                       "links go round in a cycle")  # fmt: skip
    return order


def _drafts(mapping: dict[str, Any], order: list[str], start: float) -> tuple[list[_Draft], dict[str, _Draft]]:
    """The messages a person saw, parents first, each after the nearest one kept above its node; and, for
    every node, that nearest message at or above it."""
    drafts: list[_Draft] = []
    above: dict[str, _Draft] = {}
    carried: dict[str, tuple[str, float]] = {}  # node -> reasoning not yet given to a reply, and its time
    for index, node_id in enumerate(order):
        parent_id = mapping[node_id].get("parent")
        kept = above.get(parent_id) if parent_id is not None else None
        reasoning, time = carried[parent_id] if parent_id is not None else ("", start)
        kind, text, when = _read(mapping[node_id].get("message"), node_id)
        time = when if when is not None else time
        if kind in ("user", "assistant") and text:
            draft = _Draft(kind, _checked(text), reasoning if kind == "assistant" else "", time, index, kept)
            if kept is not None:
                kept.kept_children += 1
            drafts.append(draft)
            kept, reasoning = draft, ""
        elif kind == "reasoning":
            reasoning = "\n\n".join(piece for piece in (reasoning, text) if piece)
        if kept is not None:
            above[node_id] = kept
        carried[node_id] = (reasoning, time)
    return drafts, above


def _merge_replies(drafts: list[_Draft]) -> list[_Draft]:
    """The drafts once a reply that follows a reply, with no other version, is made part of it: ChatGPT shows
    text, a tool call and more text as one reply."""
    kept = []
    for draft in drafts:  # parents first
        parent = draft.parent
        if parent is not None and draft.role == parent.role == "assistant" and parent.kept_children == 1:
            target = parent.final()
            target.content = _checked(f"{target.content}\n\n{draft.content}")
            target.reasoning = "\n\n".join(piece for piece in (target.reasoning, draft.reasoning) if piece)
            draft.into = target
        else:
            kept.append(draft)
    return kept


def _numbered(drafts: list[_Draft]) -> list[_Draft]:
    """The drafts in the order of their times, each after the one it follows; ``seq`` set."""
    roots = []
    for draft in drafts:
        if draft.parent is None:
            roots.append(draft)
        else:
            draft.parent = draft.parent.final()
            draft.parent.children.append(draft)
    waiting = [(draft.time, draft.order, draft) for draft in roots]
    heapq.heapify(waiting)
    ordered: list[_Draft] = []
    while waiting:
        draft = heapq.heappop(waiting)[2]
        ordered.append(draft)
        draft.seq = len(ordered)
        for child in draft.children:
            heapq.heappush(waiting, (child.time, child.order, child))
    return ordered


def _newest_after(draft: _Draft) -> _Draft:
    """The newest draft that follows ``draft`` on any branch (itself if none does): the active branch ends at
    a message nothing follows."""
    newest, stack = draft, [draft]
    while stack:
        current = stack.pop()
        newest = current if current.seq > newest.seq else newest
        stack.extend(current.children)
    return newest


def _read(message: Any, node_id: str) -> tuple[str, str, float | None]:
    """What a node's message is to a person, and its time: ("user" | "assistant", its text), ("reasoning",
    the model's thoughts) or ("skip", "")."""
    if message is None:
        return "skip", "", None
    where = f"node {_short(node_id)!r}"
    if not isinstance(message, dict):
        raise _Invalid(f"{where}: its 'message' is not an object")
    author, content, metadata = message.get("author"), message.get("content"), message.get("metadata") or {}
    if not isinstance(author, dict) or not isinstance(author.get("role"), str):
        raise _Invalid(f"{where}: its message has no author role")
    if not isinstance(content, dict) or not isinstance(content.get("content_type", ""), str):
        raise _Invalid(f"{where}: its message's 'content' is not an object with a content_type")
    if not isinstance(metadata, dict):
        raise _Invalid(f"{where}: its message's 'metadata' is not an object")
    time = _time(message.get("create_time"), f"{where}: its 'create_time'")
    role, kind = author["role"], content.get("content_type", "")
    hidden = metadata.get("is_visually_hidden_from_conversation") is True
    to_a_tool = message.get("recipient") not in (None, "all")
    if role not in ("user", "assistant") or hidden or to_a_tool or kind in _NOT_SHOWN:
        return "skip", "", time
    if kind == "thoughts":
        return "reasoning", _thoughts(content.get("thoughts"), where), time
    return role, _text(content, where).strip(), time


def _text(content: dict[str, Any], where: str) -> str:
    """The text of a message's content, by its ``content_type``."""
    kind = content.get("content_type")
    if kind in ("code", "execution_output"):
        code = _string(content.get("text"), f"{where}: its code")
        language = _string(content.get("language"), f"{where}: its language") if kind == "code" else ""
        return f"```{'' if language == 'unknown' else language}\n{code.strip()}\n```" if code.strip() else ""
    if kind == "tether_quote":
        quote = _string(content.get("text"), f"{where}: its quote").strip()
        source = " ".join(_string(content.get(k), f"{where}: its {k}").strip() for k in ("title", "url")).strip()
        return "\n".join(line for line in ("> " + quote.replace("\n", "\n> ") if quote else "", source) if line)
    if kind == "tether_browsing_display":
        return _string(content.get("result"), f"{where}: its result")
    parts = content.get("parts")
    if parts is None:
        return _string(content.get("text"), f"{where}: its text")
    if not isinstance(parts, list):
        raise _Invalid(f"{where}: its message's 'parts' is not a list")
    return "\n\n".join(piece for part in parts if (piece := _part(part, where).strip()))


def _part(part: Any, where: str) -> str:
    """One part of a message: text, an image (not imported: a mark where it was), a voice message's
    transcript; audio itself is left out."""
    if part is None:
        return ""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise _Invalid(f"{where}: a part of its message is neither text nor an object")
    if part.get("content_type") == "image_asset_pointer":
        return "[Image]"
    text = part.get("text")
    return text if isinstance(text, str) else ""


def _thoughts(thoughts: Any, where: str) -> str:
    """A reasoning model's thoughts (``[{summary, content}]``) as one text."""
    if thoughts is None:
        return ""
    if not isinstance(thoughts, list):
        raise _Invalid(f"{where}: its thoughts are not a list")
    pieces = []
    for thought in thoughts:
        if isinstance(thought, dict):
            pieces += [t.strip() for t in (thought.get("summary"), thought.get("content")) if isinstance(t, str)]
    return "\n\n".join(piece for piece in pieces if piece)


def _string(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(f"{what} is not a string")
    return value


def _time(value: Any, what: str) -> float | None:
    """Epoch seconds (milliseconds, from some exporters, too), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{what} is not a number of seconds")
    seconds = value / 1000 if value > 100_000_000_000 else float(value)
    try:
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _Invalid(f"{what} is not a time ({value})") from None
    return seconds


def _checked(text: str) -> str:
    """A message's text, within IMPORT_MAX_MESSAGE_CHARS, with no lone surrogate (no database stores one)."""
    limit = settings.IMPORT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise _too_large(f"a message has {len(text):,} characters; the limit is {limit:,}")
    return _clean(text)


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _short(value: Any, limit: int = 40) -> str:
    text = _clean(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Writing -------------------------------------------------------------------------------------------


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _Writer:
    """Writes converted conversations in batches of about BATCH_MESSAGES messages: the chats, their messages,
    then the messages' parents (their ids are known once they are written) and the chats' active messages.
    A few statements a batch, however long or branched its conversations.

    Plain INSERTs of every field, prepared as ``bulk_create`` would prepare it, except the times: both
    ``created_at`` fields are ``auto_now_add``, which the ORM would overwrite with now (``bulk_update`` could
    set them after, at 2 ms a message, most of an import's time).
    """

    def __init__(self, user: AbstractBaseUser, chat_model: ChatModel):
        self.user, self.chat_model = user, chat_model
        self.chats: list[ChatInstance] = []
        self.messages = 0
        self._pending: list[_Chat] = []
        self._pending_messages = 0

    def add(self, chat: _Chat) -> None:
        self._pending.append(chat)
        self._pending_messages += len(chat.drafts)
        if self._pending_messages >= BATCH_MESSAGES:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = [
            ChatInstance(owner_id=self.user.pk, chat_model=self.chat_model, title=chat.title,
                         created_at=_moment(chat.created), updated_at=_moment(chat.updated))
            for chat in self._pending
        ]  # fmt: skip
        _insert(rows, given={"created_at", "updated_at"})
        pairs = list(zip(rows, self._pending, strict=True))
        _insert([self._row(chat_row, draft) for chat_row, chat in pairs for draft in chat.drafts], given={"created_at"})
        parents, active = [], []
        for chat_row, chat in pairs:
            parents += [(draft.pk, draft.parent.pk) for draft in chat.drafts if draft.parent is not None]
            chat_row.active_message_id, chat_row.active_public_id = chat.active.pk, chat.active.public_id
            active.append((chat.active.pk, chat_row.pk))
        _set_parents(parents)
        table = connection.ops.quote_name(ChatInstance._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET active_message_id = %s WHERE id = %s", active)
        self.chats += rows
        self.messages += self._pending_messages
        for chat in self._pending:  # parents and children refer to each other: freed now, not by a later
            for draft in chat.drafts:  # collection of cycles, so that memory stays at a batch
                draft.children, draft.row = [], None
        self._pending, self._pending_messages = [], 0

    @staticmethod
    def _row(chat: ChatInstance, draft: _Draft) -> Message:
        draft.row = Message(
            chat=chat, seq=draft.seq, role=draft.role, content=draft.content, reasoning=draft.reasoning,
            status=Message.Status.COMPLETE, created_at=_moment(draft.time), completed_at=_moment(draft.time),
        )  # fmt: skip
        return draft.row


def _set_parents(pairs: list[tuple[int, int]], per_statement: int = 300) -> None:
    """Set the parents of messages, given as (id, parent id): a few hundred in each UPDATE."""
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), per_statement):
            chunk = pairs[start : start + per_statement]
            cases, ids = " ".join(["WHEN %s THEN %s"] * len(chunk)), ", ".join(["%s"] * len(chunk))
            params = [value for pair in chunk for value in pair] + [pk for pk, _ in chunk]
            cursor.execute(f"UPDATE {table} SET parent_id = CASE id {cases} END WHERE id IN ({ids})", params)


def _insert(objects: list[Any], *, given: set[str]) -> None:
    """Insert instances of one model (one with a ``public_id``) as ``bulk_create`` would (defaults, the
    database's adaptation of each value), at most 100 rows a statement, but with the ``given`` fields' values
    as they are (no ``auto_now_add``); set their ids."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: the proxy would look it up for every value
    model = type(objects[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    table, quote = db.ops.quote_name(model._meta.db_table), db.ops.quote_name
    columns, row = ", ".join(quote(f.column) for f in fields), "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = db.features.can_return_rows_from_bulk_insert
    size = min(db.ops.bulk_batch_size(fields, objects), 100) if returning else 1
    with db.cursor() as cursor:
        for start in range(0, len(objects), size):
            batch = objects[start : start + size]
            params = [
                f.get_db_prep_save(getattr(o, f.attname) if f.attname in given else f.pre_save(o, True), db)
                for o in batch
                for f in fields
            ]
            sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))}"
            if returning:
                cursor.execute(f"{sql} RETURNING id, public_id", params)
                ids = dict((public_id, pk) for pk, public_id in cursor.fetchall())
            else:  # SQLite before 3.35: one row at a time
                cursor.execute(sql, params)
                ids = {batch[0].public_id: cursor.lastrowid}
            for o in batch:
                o.pk = ids[o.public_id]
                o._state.adding, o._state.db = False, db.alias


# --- Zip archives --------------------------------------------------------------------------------------


def _streams(source: IO[bytes], name: str) -> Iterator[tuple[str, IO[bytes]]]:
    """The JSON files to read, with the names errors give them: the file itself, or the conversations of a
    zip (conversations.json, or the shards newer exports split it into)."""
    if source.read(4)[:2] != b"PK":
        source.seek(0)
        yield name, source
        return
    _check_zip_directory(source, name)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise _Invalid(f"{name}: it is not a zip file that can be read ({error})") from None
    with archive:
        members = _conversation_files(archive, name)
        declared = sum(member.file_size for member in members)
        if declared > settings.IMPORT_MAX_BYTES:
            raise _too_large(f"{name}: its conversations take {_size(declared)} unpacked; the limit is "
                             f"{_size(settings.IMPORT_MAX_BYTES)}")  # fmt: skip
        for member in members:
            if member.flag_bits & 0x1:
                raise _Invalid(f"{name}: {member.filename} is encrypted")
            try:
                stream = archive.open(member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
                raise _Invalid(f"{name}: {member.filename} cannot be read ({error})") from None
            with stream:
                yield member.filename, stream


def _conversation_files(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    files = [info for info in archive.infolist() if not info.is_dir()]
    whole = [info for info in files if PurePosixPath(info.filename).name == "conversations.json"]
    if whole:  # the export's own, not a copy in a folder of it
        return [min(whole, key=lambda info: (info.filename.count("/"), info.filename))]
    shards = sorted((i for i in files if _SHARD.fullmatch(PurePosixPath(i.filename).name)), key=lambda i: i.filename)
    if not shards:
        raise _Invalid(f"{name}: the zip holds no conversations.json: is it ChatGPT's export?")
    return shards


def _check_zip_directory(source: IO[bytes], name: str) -> None:
    """Refuse a zip whose central directory (which zipfile reads whole) is larger than
    ZIP_MAX_DIRECTORY_BYTES, from its end record (and its Zip64 record, which zipfile believes first)."""
    size = source.seek(0, 2)
    tail_start = max(0, size - (65535 + 22))
    source.seek(tail_start)
    tail = source.read()
    source.seek(0)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        raise _Invalid(f"{name}: it looks like a zip file but has no directory: it is damaged or cut short")
    directory = struct.unpack_from("<I", tail, end + 12)[0]
    locator = end - 20
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        record = struct.unpack_from("<Q", tail, locator + 8)[0]
        source.seek(record)
        head = source.read(56)
        source.seek(0)
        if len(head) == 56 and head[:4] == b"PK\x06\x06":
            directory = struct.unpack_from("<Q", head, 40)[0]
    if directory > ZIP_MAX_DIRECTORY_BYTES:
        raise _too_large(f"{name}: the zip lists too many files (a directory of {_size(directory)}); "
                         "send conversations.json alone")  # fmt: skip
