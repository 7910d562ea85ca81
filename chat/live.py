"""Live copies of streaming replies, for websocket subscribers in any process.

While a reply streams, its text so far is kept in a store that every server process can read (Redis
when ``REDIS_URL`` is set, process memory otherwise), and batches of new tokens go to the chat's group.
A tab that connects mid-reply reads the snapshot and then follows the batches; each batch carries the
offset where it starts, so the seam between the two has neither gaps nor duplicates.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings

from chat import broadcast

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

    async def append(self, chat_id: str, message_id: str, text: str) -> None:
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
    The pool blocks briefly when busy rather than failing: a burst of reconnecting tabs must not error.
    """

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._url = url
        self._redis = redis
        self._clients: dict[int, Any] = {}

    @property
    def client(self) -> Any:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._clients:
            pool = self._redis.BlockingConnectionPool.from_url(
                self._url, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=10
            )
            self._clients[loop_id] = self._redis.Redis(connection_pool=pool)
        return self._clients[loop_id]

    async def begin(self, chat_id: str, message_id: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(f"live:{chat_id}:id", message_id, ex=SNAPSHOT_TTL)
            pipe.set(f"live:{chat_id}:text", "", ex=SNAPSHOT_TTL)
            await pipe.execute()

    async def append(self, chat_id: str, message_id: str, text: str) -> None:
        await self.client.append(f"live:{chat_id}:text", text.encode())

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
        _store = RedisStore(settings.REDIS_URL) if settings.REDIS_URL else MemoryStore()
    return _store


class LiveRelay:
    """Copies one streaming reply to subscribers in batches, off the path of the SSE reader."""

    def __init__(self, chat_id: str, message_id: str):
        self.chat_id, self.message_id = chat_id, message_id
        self._pending: list[str] = []
        self._offset = 0
        self._task: asyncio.Task | None = None
        self._begun: asyncio.Task | None = None
        self._inflight: asyncio.Future | None = None

    def start(self, user_message: dict[str, Any], stream_start: dict[str, Any]) -> None:
        """Announce the saved user message and the start of the reply, without delaying the reader."""
        self._begun = asyncio.create_task(self._begin(user_message, stream_start))

    async def _begin(self, user_message: dict[str, Any], stream_start: dict[str, Any]) -> None:
        await broadcast.push_message_saved(self.chat_id, user_message)
        try:
            await get_store().begin(self.chat_id, self.message_id)
        except Exception:
            logger.exception("Live snapshot store failed")
        await broadcast.push_stream_event(self.chat_id, {**stream_start, "messageId": self.message_id})

    def token(self, text: str) -> None:
        self._pending.append(text)
        if self._task is None:
            self._task = asyncio.create_task(self._flush_every_batch())

    async def _flush_every_batch(self) -> None:
        while True:
            await asyncio.sleep(BATCH_SECONDS)
            # Shielded, so that ``end`` cancelling this loop never drops a batch in flight.
            self._inflight = asyncio.ensure_future(self._flush())
            await asyncio.shield(self._inflight)

    async def _flush(self) -> None:
        if not self._pending:
            return
        if self._begun is not None:
            await self._begun
        text, self._pending = "".join(self._pending), []
        offset, self._offset = self._offset, self._offset + len(text)
        try:
            await get_store().append(self.chat_id, self.message_id, text)
        except Exception:
            logger.exception("Live snapshot store failed")
        event = {"type": "token", "messageId": self.message_id, "content": text, "offset": offset}
        await broadcast.push_stream_event(self.chat_id, event)

    async def end(self, info: dict[str, Any]) -> None:
        """Flush the last batch, announce the end, and drop the snapshot."""
        if self._task is not None:
            self._task.cancel()
        if self._inflight is not None:
            await self._inflight
        await self._flush()
        if self._begun is not None:
            await self._begun
        event = {"type": "stream_end", "messageId": self.message_id, **info}
        await broadcast.push_stream_event(self.chat_id, event)
        try:
            await get_store().end(self.chat_id, self.message_id)
        except Exception:
            logger.exception("Live snapshot store failed")
