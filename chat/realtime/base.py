"""The realtime backend interface: what running turns and their readers share, in this process or across
processes: the turn event log, which turns are alive, and stop requests. (Rate-limit counters are a family
of their own, ``chat.realtime.counters``; token lookups are cached in Django's cache, ``chat.domain.auth``.)

Django's backends pattern (``django/core/cache/backends``): this interface, one module per implementation
(``memory`` for one process, ``redis`` for several), and ``chat.realtime.get_backend()`` to pick one from
settings, once.

The turn event log: each turn appends its events, numbered 1, 2, 3… (``eventId``), to a log keyed by the
chat and the reply's ``seq``. A chat keeps the log of its latest turn only, for ``REALTIME_LOG_TTL`` seconds
after the turn ends. The database stays the record of finished messages; the log is how a turn is read
while it runs and just after: by the GET event stream, by websockets that connect mid-reply, and by
clients that resume after a dropped connection.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Stoppable(Protocol):
    """A turn this process runs, as a stop request sees it (``chat.turns.runtime.TurnControl``)."""

    chat_id: str
    message_id: str
    done: asyncio.Event

    def stop(self) -> bool: ...  # whether it was still running


@dataclass(frozen=True, slots=True)
class TurnRef:
    """One turn: its chat, and the reply message it writes."""

    chat_id: str
    seq: int  # the reply's seq, increasing within a chat: it orders turns
    message_id: str


@dataclass(frozen=True, slots=True)
class LogState:
    """Where a chat's latest turn stands."""

    turn: TurnRef
    last_event_id: int
    ended: bool  # its last event is ``stream_end``


class RealtimeBackend(ABC):
    """Shared state of running turns."""

    @abstractmethod
    def log_begin(self, turn: TurnRef) -> None:
        """Make ``turn`` the chat's latest turn, with an empty log, and mark it alive. Never blocks: like
        ``log_append``, a backend that needs I/O does it at the next ``log_flush``, before the turn's events."""

    @abstractmethod
    def log_append(self, turn: TurnRef, payload: dict[str, Any]) -> None:
        """Add one event (its dict, with ``eventId``). Never blocks: a backend that needs I/O buffers it
        until ``log_flush``."""

    @abstractmethod
    async def log_flush(self) -> None:
        """Write what ``log_append`` buffered (every turn's, in one round trip)."""

    @abstractmethod
    async def log_state(self, chat_id: str) -> LogState | None:
        """The chat's latest turn in the log, or None (no turn yet, or its log expired)."""

    @abstractmethod
    async def log_read(self, turn: TurnRef, after: int) -> list[dict[str, Any]]:
        """The turn's events after ``after``, in order."""

    @abstractmethod
    async def log_wait(self, turn: TurnRef, after: int, timeout: float) -> None:
        """Return once the turn may have events after ``after``, or after ``timeout`` seconds."""

    @abstractmethod
    async def log_wait_turn(self, chat_id: str, after_seq: int, timeout: float) -> None:
        """Return once the chat may have a turn newer than ``after_seq``, or after ``timeout`` seconds."""

    @abstractmethod
    async def log_end(self, turn: TurnRef) -> None:
        """The turn is over: write what is buffered, and let the log expire after ``REALTIME_LOG_TTL``."""

    @abstractmethod
    async def turns_alive(self, message_ids: list[str]) -> None:
        """Mark the turns this process runs (by reply id) as alive, for ``REALTIME_ORPHAN_SECONDS``."""

    @abstractmethod
    async def turn_is_alive(self, message_id: str) -> bool:
        """Whether some process marked this turn alive recently."""

    @abstractmethod
    def orphans_started_before(self, now: datetime) -> datetime:
        """Replies still streaming that started before this may be orphans (if no process says they live)."""

    # --- stop requests and listeners ----------------------------------------------------------------

    @abstractmethod
    def may_have_listeners(self, chat_id: str) -> bool:
        """False only when it is certain that no tab has the chat open (then nothing is sent to it)."""

    @abstractmethod
    async def request_stop(self, chat_id: str, message_id: str) -> bool:
        """Ask the process that runs this turn (not this one) to stop it. False: no other process can be
        running it, so it is an orphan of a process that is gone."""

    @abstractmethod
    def listen_for_stop(self, control: Stoppable) -> asyncio.Task[None] | None:
        """Start listening for ``request_stop`` from other processes for a turn this process runs."""
