"""Finishing the turns of processes that died: their replies are saved ``interrupted`` and their logs ended.

Every server process runs ``run`` on its event loop. Each pass marks the turns this process runs as alive,
then looks for replies still ``streaming`` after ``REALTIME_ORPHAN_SECONDS`` that no process marked alive:
their process is gone (killed, crashed, or its machine lost). Any live process finishes them, once (the
database decides who), and ends their event log with ``stream_end``, so readers of the GET stream and open
tabs see the turn end. ``manage.py interrupt_orphans`` does the same for all of them at start-up. With the
memory backend a process cannot see its siblings' turns, so it finishes only replies older than itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from chat.domain.db import run_db
from chat.domain.selectors import replies_streaming_before
from chat.domain.serializers import message_to_dict
from chat.domain.services import messages_interrupt_orphans
from chat.models import Message
from chat.realtime import broadcast, get_backend
from chat.realtime.frames import encode_frames
from chat.turns import runtime

logger = logging.getLogger(__name__)


def _stale_replies() -> list[Message]:
    return replies_streaming_before(cutoff=get_backend().orphans_started_before(timezone.now()))


def _interrupt(message: Message) -> dict[str, Any] | None:
    """Finish one orphan; its saved form, or None when another process got there first."""
    if not messages_interrupt_orphans(message_ids=[message.pk]):
        return None
    message.refresh_from_db()
    return message_to_dict(message)


async def _end_log(message: Message, saved: dict[str, Any]) -> None:
    chat_id, backend = message.chat.public_id, get_backend()
    state = await backend.log_state(chat_id)
    if state is not None and state.turn.message_id == message.public_id and not state.ended:
        end = {"type": "stream_end", "finishReason": message.finish_reason, "usage": None,
               "eventId": state.last_event_id + 1}  # fmt: skip
        backend.log_append(state.turn, end)
        await backend.log_end(state.turn)
        frames = encode_frames([end], state.last_event_id)
        await broadcast.push_turn_frames(chat_id, broadcast.turn_key(state.turn), frames)
    await broadcast.push_message_saved(chat_id, saved)


async def reap() -> int:
    """One pass; the number of orphaned replies this process finished."""
    backend = get_backend()
    await backend.turns_alive([control.message_id for control in runtime.running()])
    finished = 0
    for message in await run_db(_stale_replies):
        if runtime.get(message.public_id) is not None or await backend.turn_is_alive(message.public_id):
            continue
        if (saved := await run_db(_interrupt, message)) is not None:
            await _end_log(message, saved)
            finished += 1
    if finished:
        logger.warning("Finished %d reply(ies) left streaming by a process that is gone", finished)
    return finished


async def run() -> None:
    """Reap every third of ``REALTIME_ORPHAN_SECONDS``, for as long as the process serves."""
    period = max(settings.REALTIME_ORPHAN_SECONDS / 3, 0.5)
    while True:
        await asyncio.sleep(period)
        try:
            await reap()
        except Exception:
            logger.exception("Orphan reaper failed")
