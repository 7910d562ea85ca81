"""Channels group names and every ``group_send`` of the project live here.

Group names use only ``[A-Za-z0-9-_.]`` and stay under 100 characters, as ``channels.layers`` requires.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.layers import get_channel_layer

from chat.realtime import get_backend
from chat.realtime.base import TurnRef

logger = logging.getLogger(__name__)


def chat_group(chat_id: str) -> str:
    """Websocket subscribers of one conversation."""
    return f"chat.{chat_id}"


def live_group(chat_id: str) -> str:
    """The subscribers that show the conversation's live reply (visible tabs): a running turn's frames go
    only to them; the others get each saved message, and the turn's events from the log when they are shown
    again."""
    return f"chat-live.{chat_id}"


def control_group(chat_id: str) -> str:
    """The turn running for one conversation, in whichever process runs it."""
    return f"chat-control.{chat_id}"


async def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, {**message, "group": group})  # the group, for the process's hub
    except Exception:  # A broken layer must not break the turn; websocket clients catch up with ?after=.
        logger.exception("group_send to %s failed", group)


def may_have_listeners(chat_id: str) -> bool:
    """False only when it is certain that no tab has the chat open (``chat.realtime``)."""
    return get_backend().may_have_listeners(chat_id)


def frame(payload: dict[str, Any]) -> str:
    """The websocket text of an event, encoded once here rather than once per subscriber."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def push_message_saved(chat_id: str, message: dict[str, Any]) -> None:
    """Tell every open tab that a message was saved (after its transaction committed)."""
    if not may_have_listeners(chat_id):
        return
    text = frame({"type": "message_saved", "message": message})
    await _send(chat_group(chat_id), {"type": "chat.message_saved", "seq": message["seq"], "id": message["id"],
                                      "frame": text})  # fmt: skip


async def push_chat_changed(chat_id: str, payload: dict[str, Any]) -> None:
    """Tell every open tab that the chat itself changed: ``chat_updated`` (renamed, another model) with the
    chat, or ``chat_deleted``."""
    if may_have_listeners(chat_id):
        await _send(chat_group(chat_id), {"type": "chat.changed", "frame": frame(payload)})


def turn_key(turn: TurnRef) -> str:
    """A turn's name among a chat's turns: its reply and that reply's seq (a continued reply is the same
    message, written again as a new turn with a new seq)."""
    return f"{turn.message_id}:{turn.seq}"


async def push_turn_frames(chat_id: str, turn: str, frames: list[tuple[int, int, str]]) -> None:
    """A running turn's (``turn_key``) new events as websocket frames, each already encoded: (first eventId,
    last eventId, text). One group message per tick however many frames, so a tab's consumer wakes once."""
    await _send(live_group(chat_id), {"type": "chat.turn_frames", "turn": turn, "frames": frames})


async def request_stop(chat_id: str, message_id: str) -> None:
    """Ask the process running this chat's turn to stop it."""
    await _send(control_group(chat_id), {"type": "turn.stop", "message_id": message_id})
