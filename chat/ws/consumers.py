"""The websocket of one conversation: saved messages, live replies, and catch-up after a reconnect."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from chat.domain.db import run_db
from chat.domain.selectors import chat_get, message_list
from chat.domain.serializers import message_to_dict
from chat.exceptions import NotFound
from chat.models import Message
from chat.realtime import broadcast, get_backend
from chat.realtime.base import TurnRef
from chat.realtime.frames import encode_frames
from chat.ws.hub import Hub
from config.compat.consumers import LeanConsumer


def _catch_up(user: Any, chat_id: str, after: int | None) -> list[dict[str, Any]] | None:
    """The finished messages after ``after`` (None: none at all), or None if the user may not see the chat."""
    try:
        chat = chat_get(user=user, chat_id=chat_id)
    except NotFound:
        return None
    if after is None:
        return []
    messages = message_list(chat=chat, after=after)
    # A reply still streaming arrives as its own message_saved when it ends.
    return [message_to_dict(m) for m in messages if m.status != Message.Status.STREAMING]


MAX_PUBLIC_ID = 32


class ChatConsumer(LeanConsumer, AsyncWebsocketConsumer):
    """Pushes ``message_saved`` for every saved message, and the running turn's events while a reply streams
    (``chat.realtime.frames``): a tab that connects mid-reply first gets the turn's events so far, from the log.

    Delivery through the channel layer is at most once, so every message carries its ``seq``: a client that
    reconnects with ``?after=<last seq>`` gets what it missed, and this consumer drops anything it already sent.
    It touches the database only in ``connect``, through ``run_db`` (the database threads).

    A tab that does not show the live reply (hidden) says so, with ``?live=0`` or a ``{"type": "live",
    "on": false}`` frame: it then gets saved messages only, not each running turn's frames (with many tabs
    open on one chat, most are in the background). Shown again (``"on": true``), it first gets the running
    turn's events so far, from the log.

    Group messages come through the process's ``Hub`` (one layer reader per process, ``deliver`` here), not
    a layer channel per tab.
    """

    own_channel = False

    async def connect(self) -> None:
        self.chat_id = self.scope["url_route"]["kwargs"]["chat_id"]
        user = self.scope.get("user")
        after = self._after()
        # Public ids are 25 characters; a longer one names no chat (and would overflow a group name).
        if user is None or not user.is_authenticated or after is False or len(self.chat_id) > MAX_PUBLIC_ID:
            await self.close()
            return
        self.group = broadcast.chat_group(self.chat_id)
        self.live_group = broadcast.live_group(self.chat_id)
        self.live = self._param("live") != "0"
        self.last_seq = -1 if after is None else after
        self.turn, self.seen = "", 0  # the running turn (``broadcast.turn_key``), and the last eventId sent for it
        # Join before reading, so nothing saved in between is missed; duplicates are dropped by seq.
        self.hub = Hub.get()
        await self.hub.join(self.group, self)
        if self.live:
            await self.hub.join(self.live_group, self)
        missed = await run_db(_catch_up, user, self.chat_id, after)
        if missed is None:
            await self.disconnect(0)
            await self.close()  # The same refusal whether the chat is someone else's or does not exist.
            return
        await self.accept()
        for message in missed:
            await self._send_message(message["seq"], message["id"], broadcast.frame({"type": "message_saved",
                                                                                   "message": message}))  # fmt: skip
        if self.live:
            await self._catch_up_turn()

    async def _catch_up_turn(self) -> None:
        """A reply still streaming: its events so far (or since the last one sent), from the log, then live
        ones (the seam is by eventId)."""
        state = await get_backend().log_state(self.chat_id)
        if state is not None and not state.ended:
            if broadcast.turn_key(state.turn) != self.turn:
                self.turn, self.seen = broadcast.turn_key(state.turn), 0
            await self._replay(state.turn)

    def _param(self, name: str) -> str | None:
        return parse_qs(self.scope.get("query_string", b"").decode()).get(name, [None])[0]

    def _after(self) -> int | None | bool:
        raw = self._param("after")
        if raw in (None, ""):
            return None
        try:
            value = int(raw)
        except ValueError:
            return False
        return value if value >= 0 else False

    async def disconnect(self, code: int) -> None:
        await self.finished()

    async def finished(self) -> None:
        if hasattr(self, "group"):  # leaving twice is harmless
            await self.hub.leave(self.group, self)
            await self.hub.leave(self.live_group, self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")
            return
        try:
            message = json.loads(text_data or "")
            live = message["on"] if message["type"] == "live" else None
        except (ValueError, TypeError, KeyError):
            return  # nothing else is asked of this socket
        if live is True and not self.live:
            self.live = True
            await self.hub.join(self.live_group, self)
            await self._catch_up_turn()
        elif live is False and self.live:
            self.live = False
            await self.hub.leave(self.live_group, self)

    async def _send_message(self, seq: int, message_id: str, text: str) -> None:
        if seq <= self.last_seq:
            return  # Already sent (the seam between catch-up and live pushes).
        self.last_seq = seq
        await self.send(text_data=text)

    async def chat_message_saved(self, event: dict[str, Any]) -> None:
        await self._send_message(event["seq"], event["id"], event["frame"])

    async def chat_changed(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["frame"])

    async def chat_turn_frames(self, event: dict[str, Any]) -> None:
        """A running turn's new frames. Each covers a range of eventIds; what this tab already has is
        dropped, and a gap or an overlap (the seam with the replay on connect) is filled from the log."""
        if event["turn"] != self.turn:
            self.turn, self.seen = event["turn"], 0
        for first, last, text in event["frames"]:
            if last <= self.seen:
                continue
            if first != self.seen + 1:
                state = await get_backend().log_state(self.chat_id)
                if state is not None and broadcast.turn_key(state.turn) == self.turn:
                    await self._replay(state.turn)
                    continue
            self.seen = last
            await self.send(text_data=text)

    async def _replay(self, turn: TurnRef) -> None:
        for _first, last, text in encode_frames(await get_backend().log_read(turn, self.seen), self.seen):
            if last > self.seen:
                self.seen = last
                await self.send(text_data=text)
