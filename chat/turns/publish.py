"""A running turn's events, copied to the event log and to the chat's open tabs, off the reader's path.

Websocket tabs get, per turn: the user's ``message_saved``, the turn's events as frames (``stream_start``
… ``stream_end``), then the reply's ``message_saved``.

The turn hands each event to its ``TurnPublisher`` as it happens (no I/O there). One task per event loop
(``_Ticker``) wakes every ``BATCH_SECONDS`` and, for every turn of the process at once, writes the log (one
Redis round trip) and sends each chat's new events to its websocket group as frames (tokens joined).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any

from chat.domain.serializers import message_to_dict
from chat.loops import for_running_loop
from chat.realtime import broadcast, get_backend
from chat.realtime.base import TurnRef
from chat.realtime.frames import encode_frames
from chat.turns.events import ending, logged

if TYPE_CHECKING:
    from chat.models import Message

logger = logging.getLogger(__name__)

BATCH_SECONDS = 0.05


async def _report_failure(action: Awaitable[None], what: str) -> None:
    """A failing realtime store must not fail the turn: the reply is still saved and pushed."""
    try:
        await action
    except Exception:
        logger.exception("Realtime backend failed to %s", what)


class _Ticker:
    """One task per event loop publishes every running turn's new events, every ``BATCH_SECONDS``.

    A timer and a task per turn per batch cost about as much as relaying the tokens themselves once
    hundreds of replies stream at once.
    """

    _by_loop: dict[Any, Any] = {}

    def __init__(self) -> None:
        self._due: list[TurnPublisher] = []
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def get(cls) -> _Ticker:
        return for_running_loop(cls._by_loop, None, cls)

    def add(self, publisher: TurnPublisher) -> None:
        self._due.append(publisher)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._due:
            await asyncio.sleep(BATCH_SECONDS)
            due, self._due = self._due, []
            batches = [(publisher, batch) for publisher in due if (batch := publisher.take()) is not None]
            await _report_failure(get_backend().log_flush(), "write the event log")
            sends = [send for publisher, batch in batches if (send := publisher.publish(batch)) is not None]
            if sends:
                await asyncio.gather(*sends, return_exceptions=True)


class TurnPublisher:
    """Publishes one turn: its events to the log and to the chat's group, the saved messages to the group."""

    def __init__(self, turn: TurnRef):
        self.turn = turn
        self._last: dict[str, Any] | None = None  # the latest event
        self._final: tuple[Message, dict[str, Any], dict[str, int] | None] | None = None
        self._pending: list[dict[str, Any]] = []
        self._framed = 0  # the last eventId sent as websocket frames
        self._scheduled = self._ended = False
        self._begun: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[None] | None = None

    def start(self, user_message: Message | None) -> None:
        """Begin the log, and announce the saved user message (when the turn wrote one) to open tabs, without
        delaying the reader."""
        get_backend().log_begin(self.turn)  # no I/O here: Redis is written at the next flush
        # Serialized (and rendered) only for tabs that may be listening.
        if user_message is not None and broadcast.may_have_listeners(self.turn.chat_id):
            self._begun = asyncio.create_task(self._announce(user_message))

    async def _announce(self, user_message: Message) -> None:
        await broadcast.push_message_saved(self.turn.chat_id, message_to_dict(user_message))

    def event(self, payload: dict[str, Any]) -> None:
        """One event of the turn (its dict with ``eventId``), as it happens."""
        self._last = payload
        get_backend().log_append(self.turn, payload)
        self._pending.append(payload)
        if not self._scheduled and not self._ended:
            self._scheduled = True
            _Ticker.get().add(self)

    def take(self) -> list[dict[str, Any]] | None:
        """The ticker's call: the events pending since the last tick (None once ``close`` took over)."""
        self._scheduled = False
        return None if self._ended else self._take()

    def _take(self) -> list[dict[str, Any]] | None:
        if not self._pending:
            return None
        batch, self._pending = self._pending, []
        self._inflight = asyncio.get_running_loop().create_future()
        return batch

    def publish(self, batch: list[dict[str, Any]]) -> Coroutine[Any, Any, None] | None:
        """The sending of a batch to the chat's tabs, or None when no tab has the chat open (the batch is in
        the log all the same, and no frames are built for nobody)."""
        if broadcast.may_have_listeners(self.turn.chat_id):
            return self._send(batch)
        self._framed = batch[-1]["eventId"]
        self._sent()
        return None

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            if self._begun is not None and not self._begun.done():
                await asyncio.shield(self._begun)  # the user's message_saved goes out first
            after, self._framed = self._framed, batch[-1]["eventId"]
            if frames := encode_frames(batch, after):
                await broadcast.push_turn_frames(self.turn.chat_id, broadcast.turn_key(self.turn), frames)
        finally:
            self._sent()

    def _sent(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.set_result(None)

    async def flush(self) -> None:
        """Send what is pending now, after what is already on its way (before the reply's message_saved)."""
        if self._inflight is not None and not self._inflight.done():
            await asyncio.shield(self._inflight)
        if self._begun is not None and not self._begun.done():
            await asyncio.shield(self._begun)
        if (batch := self._take()) is not None:
            await _report_failure(get_backend().log_flush(), "write the event log")
            if (send := self.publish(batch)) is not None:
                await send

    def finished(self, message: Message, saved: dict[str, Any], usage: dict[str, int] | None) -> None:
        """The reply is saved (``saved`` is its message dict): pushed to the tabs once the events are out."""
        self._final = (message, saved, usage)

    async def close(self) -> None:
        """The turn is over: publish the rest, then the saved reply, and let the log expire.

        A turn cut off by its reader going away ends without its last events; the log gets them here, so
        that whoever follows it sees the turn end as always.
        """
        if self._final is not None and (self._last is None or self._last["type"] != "stream_end"):
            _, saved, usage = self._final
            last_id = self._last["eventId"] if self._last else 0
            for event_id, event in enumerate(ending(saved, usage), start=last_id + 1):
                self.event(logged(event, event_id))
        self._ended = True
        await self.flush()
        if self._final is not None:
            await broadcast.push_message_saved(self.turn.chat_id, self._final[1])
        await _report_failure(get_backend().log_end(self.turn), "end a turn's log")
