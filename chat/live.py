"""Live copies of streaming replies, for websocket subscribers in any process.

While a reply streams, its text so far is kept in a store that every server process can read (Redis
when ``REDIS_URL`` is set, process memory otherwise), and batches of new tokens go to the chat's group.
A tab that connects mid-reply reads the snapshot and then follows the batches; each batch carries the
offset where it starts, so the seam between the two has neither gaps nor duplicates.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from chat import broadcast
from chat.loops import for_running_loop
from chat.redis import async_redis
from chat.serializers import message_to_dict

if TYPE_CHECKING:
    from chat.models import Message

logger = logging.getLogger(__name__)

BATCH_SECONDS = 0.05
SNAPSHOT_TTL = 3600


class MemoryStore:
    """Snapshots in this process's memory: right for the in-memory channel layer (one process)."""

    def __init__(self) -> None:
        self._active: dict[str, str] = {}
        self._content: dict[str, list[str]] = {}

    async def begin(self, chat_id: str, message_id: str) -> None:
        self._active[chat_id] = message_id
        self._content[message_id] = []

    async def append_many(self, batches: list[tuple[str, str, str]]) -> None:
        for _chat_id, message_id, text in batches:
            self._content.setdefault(message_id, []).append(text)

    async def end(self, chat_id: str, message_id: str) -> None:
        if self._active.get(chat_id) == message_id:
            del self._active[chat_id]
        self._content.pop(message_id, None)

    async def snapshot(self, chat_id: str) -> tuple[str, str] | None:
        message_id = self._active.get(chat_id)
        if message_id is None:
            return None
        return message_id, "".join(self._content.get(message_id, ()))


class RedisStore:
    """Snapshots in Redis, so a tab that lands on another process still sees the reply growing.

    Two keys per chat, the streaming message's id and its text so far, so a snapshot is one MGET.
    """

    @property
    def client(self) -> Any:
        return async_redis()

    async def begin(self, chat_id: str, message_id: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(f"live:{chat_id}:id", message_id, ex=SNAPSHOT_TTL)
            pipe.set(f"live:{chat_id}:text", "", ex=SNAPSHOT_TTL)
            await pipe.execute()

    async def append_many(self, batches: list[tuple[str, str, str]]) -> None:
        """Every streaming reply's new text in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for chat_id, _message_id, text in batches:
                pipe.append(f"live:{chat_id}:text", text.encode())
            await pipe.execute()

    async def end(self, chat_id: str, message_id: str) -> None:
        active = await self.client.get(f"live:{chat_id}:id")
        if active is not None and active.decode() == message_id:
            await self.client.delete(f"live:{chat_id}:id", f"live:{chat_id}:text")

    async def snapshot(self, chat_id: str) -> tuple[str, str] | None:
        message_id, content = await self.client.mget(f"live:{chat_id}:id", f"live:{chat_id}:text")
        if message_id is None:
            return None
        return message_id.decode(), (content or b"").decode(errors="replace")


_store: MemoryStore | RedisStore | None = None


def get_store() -> MemoryStore | RedisStore:
    global _store
    if _store is None:
        _store = RedisStore() if settings.REDIS_URL else MemoryStore()
    return _store


async def _append(batches: list[tuple[str, str, str]]) -> None:
    """New text of streaming replies into the snapshot store; a failing store must not stop the replies."""
    try:
        await get_store().append_many(batches)
    except Exception:
        logger.exception("Live snapshot store failed")


class _Batcher:
    """One task per event loop sends every live reply's new tokens, every ``BATCH_SECONDS``.

    A timer and a task per streaming reply per batch cost about as much as relaying the tokens themselves
    once hundreds of replies stream at once. One shared tick writes all the snapshots at once (one Redis
    round trip) and sends to the groups that may have listeners.
    """

    _by_loop: dict = {}

    def __init__(self) -> None:
        self._due: list[LiveRelay] = []
        self._task: asyncio.Task | None = None

    @classmethod
    def get(cls) -> _Batcher:
        return for_running_loop(cls._by_loop, None, cls)

    def add(self, relay: LiveRelay) -> None:
        self._due.append(relay)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._due:
            await asyncio.sleep(BATCH_SECONDS)
            due, self._due = self._due, []
            batches = [(relay, batch) for relay in due if (batch := relay.take_batch()) is not None]
            if not batches:
                continue
            await _append([(r.chat_id, r.message_id, text) for r, (text, _) in batches])
            sends = []
            for relay, (text, offset) in batches:
                if broadcast.may_have_listeners(relay.chat_id):
                    sends.append(relay.send_batch(text, offset))
                else:
                    relay.batch_sent()
            if sends:
                await asyncio.gather(*sends, return_exceptions=True)


class LiveRelay:
    """Copies one streaming reply to subscribers in batches, off the path of the SSE reader."""

    def __init__(self, chat_id: str, message_id: str):
        self.chat_id, self.message_id = chat_id, message_id
        self._pending: list[str] = []
        self._offset = 0
        self._scheduled = self._ended = False
        self._begun: asyncio.Task | None = None
        self._inflight: asyncio.Future | None = None

    def start(self, user_message: Message, stream_start: dict[str, Any]) -> None:
        """Announce the saved user message and the start of the reply, without delaying the reader."""
        self._begun = asyncio.create_task(self._begin(user_message, stream_start))

    async def _begin(self, user_message: Message, stream_start: dict[str, Any]) -> None:
        if broadcast.may_have_listeners(self.chat_id):  # else skip serializing (and rendering) it for nobody
            await broadcast.push_message_saved(self.chat_id, message_to_dict(user_message))
        try:
            await get_store().begin(self.chat_id, self.message_id)
        except Exception:
            logger.exception("Live snapshot store failed")
        await broadcast.push_stream_event(self.chat_id, {**stream_start, "messageId": self.message_id})

    def token(self, text: str) -> None:
        self._pending.append(text)
        if not self._scheduled and not self._ended:
            self._scheduled = True
            _Batcher.get().add(self)

    def take_batch(self) -> tuple[str, int] | None:
        """The batcher's call: the text pending since the last batch and its offset (None once ``end`` took
        over); ``end`` waits until it has been sent."""
        self._scheduled = False
        return None if self._ended else self._take()

    def _take(self) -> tuple[str, int] | None:
        if not self._pending:
            return None
        text, self._pending = "".join(self._pending), []
        offset, self._offset = self._offset, self._offset + len(text)
        self._inflight = asyncio.get_running_loop().create_future()
        return text, offset

    async def send_batch(self, text: str, offset: int) -> None:
        try:
            if self._begun is not None and not self._begun.done():
                await asyncio.shield(self._begun)
            event = {"type": "token", "messageId": self.message_id, "content": text, "offset": offset}
            await broadcast.push_stream_event(self.chat_id, event)
        finally:
            self.batch_sent()

    def batch_sent(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.set_result(None)

    async def end(self, info: dict[str, Any]) -> None:
        """Send the last batch, announce the end, and drop the snapshot."""
        self._ended = True
        if self._inflight is not None:
            await asyncio.shield(self._inflight)
        if (batch := self._take()) is not None:
            await _append([(self.chat_id, self.message_id, batch[0])])
            await self.send_batch(*batch)
        if self._begun is not None:
            await self._begun
        event = {"type": "stream_end", "messageId": self.message_id, **info}
        await broadcast.push_stream_event(self.chat_id, event)
        try:
            await get_store().end(self.chat_id, self.message_id)
        except Exception:
            logger.exception("Live snapshot store failed")
