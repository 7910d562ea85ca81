"""Reading a chat's turns from the event log: the GET event stream (``GET /api/chats/<ci>/events``).

A connection follows one turn to its ``stream_end`` and then ends; EventSource reconnects by itself (after
the ``retry:`` hint) with ``Last-Event-ID``, and that connection waits for the chat's next turn. So an
EventSource client follows a chat turn after turn, and resumes a turn where it was cut off.

Which turn a connection reads, from its cursor (``Last-Event-ID``, else ``?after=``):
- none: the turn running now, from its start; with none running, the next turn to start;
- ``<seq>:<eventId>``: that turn after that event, while its log lasts; once it was read to its end, the
  next turn; a newer turn than the cursor's (the cursor's ended meanwhile) from its start;
- a bare ``<eventId>``: the chat's latest turn, after that event.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from django.conf import settings

from chat.http.sse import KEEPALIVE
from chat.realtime import get_backend
from chat.realtime.base import TurnRef
from chat.realtime.frames import sse_block

RETRY_MS = 2000


async def _choose(chat_id: str, cursor: tuple[int | None, int] | None) -> tuple[TurnRef | None, int, int]:
    """The turn to read now and the eventId to read after; or (None, 0, seq) to wait for a turn after seq."""
    state = await get_backend().log_state(chat_id)
    if state is None:
        return None, 0, (cursor[0] or 0) if cursor else 0
    if cursor is None:
        return (state.turn, 0, 0) if not state.ended else (None, 0, state.turn.seq)
    seq, after = cursor
    if seq is None or seq == state.turn.seq:
        if state.ended and after >= state.last_event_id:
            return None, 0, state.turn.seq
        return state.turn, after, 0
    if seq < state.turn.seq:
        return state.turn, 0, 0
    return None, 0, seq


async def follow(chat_id: str, cursor: tuple[int | None, int] | None, *, speech: bool = False) -> AsyncIterator[bytes]:
    """The GET stream's bytes: a ``retry:`` hint, then each event as ``id:`` + ``data:``, until the turn's
    ``stream_end`` (or ``CHAT_EVENTS_MAX_SECONDS``); keep-alive comments while nothing happens. ``speech``
    events only when asked for; the event after ones left out says so with ``fromEventId``."""
    backend, loop = get_backend(), asyncio.get_running_loop()
    beat, deadline = settings.CHAT_HEARTBEAT_SECONDS, loop.time() + settings.CHAT_EVENTS_MAX_SECONDS
    yield b"retry: %d\n\n" % RETRY_MS
    while True:
        turn, after, waiting_after = await _choose(chat_id, cursor)
        if turn is not None:
            break
        # From now on the stream wants the first turn after ``waiting_after``, even if that turn is over by
        # the time it is seen (a short turn can start and end between two looks at Redis).
        cursor = (waiting_after, sys.maxsize)
        if loop.time() >= deadline:
            return
        quiet_since = loop.time()
        await backend.log_wait_turn(chat_id, waiting_after, min(beat, deadline - loop.time()))
        if loop.time() - quiet_since >= beat * 0.99:
            yield KEEPALIVE
    skipped_from = None
    while True:
        events = await backend.log_read(turn, after)
        for event in events:
            if event["type"] == "speech" and not speech:
                skipped_from = skipped_from or event["eventId"]
                continue
            if skipped_from is not None:
                event, skipped_from = {**event, "fromEventId": skipped_from}, None
            yield sse_block(event, turn.seq)
            if event["type"] == "stream_end":
                return
        if events:
            after = events[-1]["eventId"]
        elif loop.time() >= deadline:
            return
        elif (state := await backend.log_state(chat_id)) is None or state.turn != turn:
            return  # its log is gone, or a newer turn replaced it: this one will not end here
        else:
            quiet_since = loop.time()
            await backend.log_wait(turn, after, min(beat, deadline - loop.time()))
            if loop.time() - quiet_since >= beat * 0.99:
                yield KEEPALIVE
