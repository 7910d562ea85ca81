"""The realtime backend of one process (the default without ``REDIS_URL``): plain memory, no I/O."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils import timezone

from chat.realtime.base import LogState, RealtimeBackend, Stoppable, TurnRef
from chat.realtime.broadcast import chat_group

PROCESS_STARTED = timezone.now()


class _Log:
    __slots__ = ("turn", "events", "ended_at", "waiters")

    def __init__(self, turn: TurnRef):
        self.turn = turn
        self.events: list[dict[str, Any]] = []
        self.ended_at: float | None = None
        self.waiters: list[asyncio.Future[None]] = []


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


async def _wait(waiters: list[asyncio.Future[None]], timeout: float) -> None:
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await asyncio.wait_for(waiter, timeout)
    except TimeoutError:
        pass
    finally:
        if waiter in waiters:
            waiters.remove(waiter)


class MemoryBackend(RealtimeBackend):
    """Every log in this process's memory; readers in this process are woken the moment an event is added."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}  # chat id -> its latest turn's log
        self._turn_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._next_sweep = 0.0

    def _sweep(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        ttl = settings.REALTIME_LOG_TTL
        self._logs = {k: v for k, v in self._logs.items() if v.ended_at is None or now - v.ended_at < ttl}

    def log_begin(self, turn: TurnRef) -> None:
        self._sweep()
        self._logs[turn.chat_id] = _Log(turn)
        _wake(self._turn_waiters.pop(turn.chat_id, []))

    def log_append(self, turn: TurnRef, payload: dict[str, Any]) -> None:
        log = self._logs.get(turn.chat_id)
        if log is None or (log.turn is not turn and log.turn != turn):
            return  # a newer turn replaced it (or the log expired): nobody can read this one any more
        log.events.append(payload)
        if log.waiters:
            _wake(log.waiters)

    async def log_flush(self) -> None:
        pass

    async def log_state(self, chat_id: str) -> LogState | None:
        log = self._logs.get(chat_id)
        if log is None:
            return None
        last = log.events[-1] if log.events else None
        return LogState(log.turn, last["eventId"] if last else 0, bool(last and last["type"] == "stream_end"))

    async def log_read(self, turn: TurnRef, after: int) -> list[dict[str, Any]]:
        log = self._logs.get(turn.chat_id)
        if log is None or log.turn != turn:
            return []
        # eventIds are 1, 2, 3…: the events after ``after`` start at index ``after``.
        return log.events[max(after, 0) :]

    async def log_wait(self, turn: TurnRef, after: int, timeout: float) -> None:
        log = self._logs.get(turn.chat_id)
        if log is None or log.turn != turn or len(log.events) > after:
            return
        await _wait(log.waiters, timeout)

    async def log_wait_turn(self, chat_id: str, after_seq: int, timeout: float) -> None:
        log = self._logs.get(chat_id)
        if log is not None and log.turn.seq > after_seq:
            return
        await _wait(self._turn_waiters.setdefault(chat_id, []), timeout)

    async def log_end(self, turn: TurnRef) -> None:
        log = self._logs.get(turn.chat_id)
        if log is not None and log.turn == turn:
            log.ended_at = time.monotonic()

    async def turns_alive(self, message_ids: list[str]) -> None:
        pass  # one process: a turn is alive exactly while it is in ``chat.turns.runtime``

    async def turn_is_alive(self, message_id: str) -> bool:
        return False  # the reaper asks this process's runtime first; no other process shares this memory

    def orphans_started_before(self, now: datetime) -> datetime:
        # This process cannot see another's turns, so only a reply older than the process itself is surely an
        # orphan (of a process before it); several processes need the Redis backend.
        return min(now - timedelta(seconds=settings.REALTIME_ORPHAN_SECONDS), PROCESS_STARTED)

    def may_have_listeners(self, chat_id: str) -> bool:
        layer = get_channel_layer()  # this process's in-memory layer knows every tab
        return not isinstance(layer, InMemoryChannelLayer) or bool(layer.groups.get(chat_group(chat_id)))

    async def request_stop(self, chat_id: str, message_id: str) -> bool:
        return False  # one process: a turn not running here is not running anywhere

    def listen_for_stop(self, control: Stoppable) -> asyncio.Task[None] | None:
        return None  # the stop view finds the turn in ``chat.turns.runtime`` directly
