"""The realtime backend shared by several processes, in Redis (``REDIS_URL``).

One Redis Stream per turn (``tl:<chat>:<seq>``). Each entry holds the events one flush wrote for the turn,
and is named by the last one's id (``<eventId>-0``), so that "the events after N" is one ``XRANGE`` and
following a turn live is one blocking ``XREAD``. A key
per chat names its latest turn; a key per running turn, refreshed by the process that runs it, says it is
alive. Appends are buffered and written for every turn of the process at once, one pipeline per tick of
the publisher (``chat.turns.publish``), so the log costs no round trip per token.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from chat.loops import for_running_loop
from chat.realtime import broadcast
from chat.realtime.base import LogState, RealtimeBackend, Stoppable, TurnRef
from chat.realtime.client import async_redis

RUNNING_TTL = 3600  # a log outlives a turn that never ends by this much at most

# The flush of every turn of a process in one command (redis-py spends far more per command than Redis
# does). First the turns begun since the last flush, three KEYS each (stream, chat pointer, alive marker)
# with ARGV "begin", the pointer's value and the marker's lifetime (ms); then one KEY per turn with new
# events, with ARGV: the entry id, the events (JSON), and a lifetime to give the stream (0: it has one).
# An entry that fails (an id not above the stream's last) leaves the others written.
APPEND_SCRIPT = """
local i, a = 1, 1
while i <= #KEYS do
  if ARGV[a] == 'begin' then
    redis.call('DEL', KEYS[i])
    redis.call('SET', KEYS[i + 1], ARGV[a + 1], 'EX', 3600)
    redis.call('SET', KEYS[i + 2], 1, 'PX', ARGV[a + 2])
    i = i + 3
  else
    pcall(redis.call, 'XADD', KEYS[i], ARGV[a], 'e', ARGV[a + 1])
    local ttl = tonumber(ARGV[a + 2])
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
    i = i + 1
  end
  a = a + 3
end
return #KEYS
"""
_scripts: dict[Any, Any] = {}

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _stream(turn: TurnRef) -> str:
    return f"tl:{turn.chat_id}:{turn.seq}"


def _current(chat_id: str) -> str:
    return f"tl:{chat_id}:cur"


def _alive(message_id: str) -> str:
    return f"tl:alive:{message_id}"


def _orphan_ms() -> int:
    return max(int(settings.REALTIME_ORPHAN_SECONDS * 1000), 1)


def _entries(raw: list[Any], after: int = 0) -> list[dict[str, Any]]:
    """The events of some stream entries (each holds a batch), after eventId ``after``."""
    return [event for _id, fields in raw for event in json.loads(fields[b"e"]) if event["eventId"] > after]


class RedisBackend(RealtimeBackend):
    def __init__(self) -> None:
        self._begun: list[TurnRef] = []  # turns to begin at the next flush, before any event is written
        self._pending: list[tuple[TurnRef, dict[str, Any]]] = []
        self._expiring: set[TurnRef] = set()  # running turns whose stream already has its RUNNING_TTL

    @property
    def client(self) -> Any:
        return async_redis()

    @property
    def _append_script(self) -> Any:
        return for_running_loop(_scripts, settings.REDIS_URL, lambda: self.client.register_script(APPEND_SCRIPT))

    def log_begin(self, turn: TurnRef) -> None:
        self._begun.append(turn)

    def log_append(self, turn: TurnRef, payload: dict[str, Any]) -> None:
        self._pending.append((turn, payload))

    async def log_flush(self) -> None:
        if not self._pending and not self._begun:
            return
        begun, self._begun = self._begun, []
        pending, self._pending = self._pending, []
        batches: dict[TurnRef, list[dict[str, Any]]] = {}
        for turn, payload in pending:
            batches.setdefault(turn, []).append(payload)
        keys, args = [], []
        for turn in begun:
            # A new turn: an empty stream, the chat's pointer to it, and its alive marker.
            keys += [_stream(turn), _current(turn.chat_id), _alive(turn.message_id)]
            args += ["begin", f"{turn.seq}:{turn.message_id}", _orphan_ms()]
        for turn, events in batches.items():
            # One entry per turn per flush, named by its last eventId: "after N" is still one XRANGE.
            keys.append(_stream(turn))
            args += [f"{events[-1]['eventId']}-0", _dumps(events), 0 if turn in self._expiring else RUNNING_TTL]
            self._expiring.add(turn)
        # Every turn's entries in one command: redis-py spends far more per command than Redis does.
        await self._append_script(keys=keys, args=args)

    async def log_state(self, chat_id: str) -> LogState | None:
        await self.log_flush()  # a turn begun in this process is visible here at once
        current = await self.client.get(_current(chat_id))
        if current is None:
            return None
        seq, _, message_id = current.decode().partition(":")
        turn = TurnRef(chat_id, int(seq), message_id)
        last = _entries(await self.client.xrevrange(_stream(turn), count=1))[-1:]
        if not last:
            return LogState(turn, 0, False)
        return LogState(turn, last[0]["eventId"], last[0]["type"] == "stream_end")

    async def log_read(self, turn: TurnRef, after: int) -> list[dict[str, Any]]:
        return _entries(await self.client.xrange(_stream(turn), min=f"({max(after, 0)}-0", max="+"), after)

    async def log_wait(self, turn: TurnRef, after: int, timeout: float) -> None:
        await self.client.xread({_stream(turn): f"{max(after, 0)}-0"}, count=1, block=max(int(timeout * 1000), 1))

    async def log_wait_turn(self, chat_id: str, after_seq: int, timeout: float) -> None:
        # Waiting for a turn that has not started is rare (an idle GET stream): polling the chat's key is
        # simpler than a channel of its own, and cheap.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            state = await self.log_state(chat_id)
            if state is not None and state.turn.seq > after_seq:
                return
            await asyncio.sleep(min(0.25, max(deadline - loop.time(), 0)))

    async def log_end(self, turn: TurnRef) -> None:
        await self.log_flush()
        self._expiring.discard(turn)
        ttl = settings.REALTIME_LOG_TTL
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.expire(_stream(turn), ttl)
            pipe.expire(_current(turn.chat_id), ttl)
            pipe.delete(_alive(turn.message_id))
            await pipe.execute()

    async def turns_alive(self, message_ids: list[str]) -> None:
        if not message_ids:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.set(_alive(message_id), 1, px=_orphan_ms())
            await pipe.execute()

    async def turn_is_alive(self, message_id: str) -> bool:
        return bool(await self.client.exists(_alive(message_id)))

    def orphans_started_before(self, now: datetime) -> datetime:
        return now - timedelta(seconds=settings.REALTIME_ORPHAN_SECONDS)  # every process marks its turns alive

    def may_have_listeners(self, chat_id: str) -> bool:
        return True  # tabs on other processes: knowing would cost a round trip

    async def request_stop(self, chat_id: str, message_id: str) -> bool:
        await broadcast.request_stop(chat_id, message_id)
        return True

    def listen_for_stop(self, control: Stoppable) -> asyncio.Task[None] | None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()

        async def listen() -> None:
            channel = await layer.new_channel()
            group = broadcast.control_group(control.chat_id)
            await layer.group_add(group, channel)
            try:
                while not control.done.is_set():
                    message = await layer.receive(channel)
                    if message.get("type") == "turn.stop" and message.get("message_id") == control.message_id:
                        control.stop()
            finally:
                await asyncio.shield(layer.group_discard(group, channel))

        return asyncio.create_task(listen())
