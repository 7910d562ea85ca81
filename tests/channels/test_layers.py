"""The in-memory channel layer: Channels' behaviour, at a cost that stays linear in the number of tabs."""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import ChannelFull

from config.compat.layers import InMemoryChannelLayer


async def test_group_send_reaches_every_member_with_its_own_copy():
    layer = InMemoryChannelLayer()
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("chat.x", channel)
    await layer.group_send("chat.x", {"type": "chat.message_saved", "seq": 1})
    received = [await layer.receive(channel) for channel in channels]
    assert received == [{"type": "chat.message_saved", "seq": 1}] * 3
    received[0]["seq"] = 99
    assert received[1]["seq"] == 1
    assert layer.channels == {}  # drained queues are dropped, as in Channels


async def test_a_full_member_misses_the_message_and_the_others_still_get_it():
    layer = InMemoryChannelLayer(capacity=1)
    full, other = await layer.new_channel(), await layer.new_channel()
    for channel in (full, other):
        await layer.group_add("chat.x", channel)
    await layer.send(full, {"type": "first"})
    with pytest.raises(ChannelFull):
        await layer.send(full, {"type": "second"})
    await layer.group_send("chat.x", {"type": "third"})
    assert await layer.receive(other) == {"type": "third"}
    assert await layer.receive(full) == {"type": "first"}


async def test_expired_messages_still_leave_their_channel_and_groups():
    layer = InMemoryChannelLayer(expiry=0.05)
    layer.SWEEP_SECONDS = 0.05
    gone, kept = await layer.new_channel(), await layer.new_channel()
    for channel in (gone, kept):
        await layer.group_add("chat.x", channel)
    await layer.send(gone, {"type": "never.read"})
    await asyncio.sleep(0.12)
    await layer.group_send("chat.x", {"type": "later"})
    assert list(layer.groups["chat.x"]) == [kept]
    assert await layer.receive(kept) == {"type": "later"}
