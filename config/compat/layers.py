"""The channel layer for one process (the default without ``REDIS_URL``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, made cheap enough to fan a reply out to hundreds of open tabs.

    The stock layer, for every message sent to a group of N tabs: starts N tasks, deep-copies the message
    N times, and (as each of the N consumers waits in ``receive`` again) sweeps every channel and every
    group membership for expired entries N times, O(N²). Here a group send puts a shallow copy in each
    queue directly, and the sweep runs at most once a second (messages expire after a minute, group
    memberships after a day, so nobody sees the difference). Receivers must not change the nested values
    of a message; this project's consumers only read them.
    """

    SWEEP_SECONDS = 1.0
    _next_sweep = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Channels' in-memory layer keeps ``channel_capacity`` as given; ``get_capacity`` needs it compiled
        # (as channels_redis does).
        if isinstance(self.channel_capacity, dict):
            self.channel_capacity = self.compile_capacities(self.channel_capacity)

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            super()._clean_expired()

    def _put(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, dict(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass  # As Channels does: a full channel misses it (a tab catches up with ?after=).
