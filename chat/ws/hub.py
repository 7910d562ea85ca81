"""One channel-layer reader per process for the websockets of every chat (``Hub``).

Channels' usual way gives every websocket its own layer channel in each group it follows, so a message sent
to a chat with a thousand open tabs is queued a thousand times (and, on the Redis pub/sub layer, decoded a
thousand times) before each consumer wakes to write it. Here each process joins a group once, with one
channel of its own, and one task hands each message to the process's consumers of that group: one layer
delivery per process, then one ``put_nowait`` per tab (``LeanConsumer.deliver``).

Membership follows Channels' rules as seen from a tab: ``join`` returns once the process receives the
group's messages (so a tab that joins, then reads what it missed, loses nothing in between), and a tab that
falls too far behind (its inbox full) misses messages as a full channel would; tabs catch up by ``seq`` and
``eventId`` as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer

from chat.loops import for_running_loop

logger = logging.getLogger(__name__)

# Group memberships expire in Channels' layers (a day by default): the hub renews its own well before.
RENEW_SECONDS = 3600.0
CHANNEL_PREFIX = "chathub"  # settings.CHANNEL_LAYERS gives channels with this prefix a large capacity


class Member(Protocol):
    def deliver(self, message: dict[str, Any]) -> None: ...

    def fail(self, error: BaseException) -> None: ...


class Hub:
    """This event loop's reader of the channel layer for websocket consumers (one per process)."""

    _by_loop: dict[Any, Any] = {}

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.members: dict[str, set[Member]] = {}
        self.channel: str | None = None
        self._lock = asyncio.Lock()  # membership changes that reach the layer, one at a time
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def get(cls) -> Hub:
        return for_running_loop(cls._by_loop, None, cls)

    async def join(self, group: str, member: Member) -> None:
        """Deliver ``group``'s messages to ``member`` from now on (the layer knows once this returns)."""
        async with self._lock:
            members = self.members.get(group)
            if members is None:
                if self.channel is None:
                    self.channel = await self.layer.new_channel(prefix=CHANNEL_PREFIX)
                await self.layer.group_add(group, self.channel)
                members = self.members[group] = set()
            members.add(member)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())

    async def leave(self, group: str, member: Member) -> None:
        """Stop delivering ``group``'s messages to ``member`` (at once: nothing is awaited before that)."""
        members = self.members.get(group)
        if not members or member not in members:
            return
        members.discard(member)
        if members:
            return
        async with self._lock:
            if self.members.get(group) is members and not members:  # nobody joined meanwhile
                del self.members[group]
                assert self.channel is not None
                try:
                    await self.layer.group_discard(group, self.channel)
                except Exception:  # a broken layer: the membership expires on its own
                    logger.exception("group_discard of %s failed", group)

    async def _read(self) -> None:
        assert self.channel is not None
        channel = self.channel
        renewer = asyncio.create_task(self._renew())
        try:
            while True:
                try:
                    message = await self.layer.receive(channel)
                except Exception as error:
                    # As when each consumer read the layer itself: its sockets close, and the tabs reconnect
                    # and catch up. The memberships go with them; the next join starts afresh.
                    logger.exception("Reading the channel layer failed; closing this process's chat sockets")
                    await self._drop_all(error)
                    return
                members = self.members.get(message.get("group", ""))
                if members:
                    for member in list(members):
                        member.deliver(message)
        finally:
            renewer.cancel()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            async with self._lock:
                for group in list(self.members):
                    try:
                        assert self.channel is not None
                        await self.layer.group_add(group, self.channel)
                    except Exception:
                        logger.exception("Renewing the membership of %s failed", group)

    async def _drop_all(self, error: BaseException) -> None:
        async with self._lock:
            groups, self.members = self.members, {}
            channel, self.channel = self.channel, None  # a fresh channel for the next join
            for group in groups:
                try:
                    assert channel is not None
                    await self.layer.group_discard(group, channel)
                except Exception:
                    pass  # the layer is failing; the membership expires on its own
        for members in groups.values():
            for member in members:
                member.fail(error)
