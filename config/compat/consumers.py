"""Channels' consumer loop and dispatch, without a thread hop per message and with one reader per source.

Channels' own ``dispatch`` first closes stale database connections on a worker thread, before every
handler: a thread hop for every frame pushed to every tab, most of the cost of fanning out to many tabs.
A consumer with this mixin must touch the database only through ``database_sync_to_async`` (which closes
stale connections itself).

Channels' ``await_many_dispatch`` starts a new task and an ``asyncio.wait`` for every message it takes from
the client or the channel layer; with a frame going to a thousand tabs, that bookkeeping cost as much as
writing the frames. ``serve`` reads each source with one long-lived task instead. A consumer without a
channel of its own (``own_channel = False``) gets the layer's messages through ``deliver``, from one
reader per process (``chat.ws.hub``).

``__call__`` follows ``channels.consumer.AsyncConsumer.__call__`` and ``dispatch`` follows
``AsyncConsumer.dispatch``, with those two changes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

Source = Callable[[], Awaitable[dict[str, Any]]]
Inbox = asyncio.Queue[tuple[dict[str, Any] | None, BaseException | None]]


async def serve(
    sources: list[Source], dispatch: Callable[[dict[str, Any]], Awaitable[None]], inbox: Inbox | None = None
) -> None:
    """Hand what each source gives to ``dispatch``, one message at a time, in the order they arrive, until
    ``dispatch`` raises (``StopConsumer`` when the socket closes) or a source fails (its error is raised here).

    As ``channels.utils.await_many_dispatch``, a source is not read further while the inbox is full, so a
    consumer stuck on a slow client leaves the channel layer's capacity to act. Others may put messages (or
    errors) in ``inbox`` too."""
    if inbox is None:
        inbox = asyncio.Queue(maxsize=len(sources))

    async def read(source: Source, inbox: Inbox) -> None:
        try:
            while True:
                await inbox.put((await source(), None))
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001 - handed to the consumer's own task, which raises it
            await inbox.put((None, error))

    readers = [asyncio.create_task(read(source, inbox)) for source in sources]
    try:
        while True:
            message, error = await inbox.get()
            if error is not None:
                raise error
            assert message is not None
            await dispatch(message)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


class LeanConsumer:
    channel_layer_alias: str
    # False: the consumer has no layer channel of its own; what it gets from the layer comes through
    # ``deliver`` (``chat.ws.hub``, one reader per process).
    own_channel = True
    # Messages delivered but not yet handled; beyond that a slow tab misses messages, as a full channel would.
    INBOX = 1000

    async def __call__(self, scope: dict[str, Any], receive: Source, send: Callable[..., Awaitable[None]]) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive]
        if self.channel_layer is not None and self.own_channel:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        self._inbox: Inbox = asyncio.Queue(maxsize=len(sources) if self.own_channel else self.INBOX)
        self.base_send = send  # async consumers only (Channels wraps a sync consumer's send)
        try:
            await serve(sources, self.dispatch, self._inbox)
        except StopConsumer:
            pass
        finally:
            await self.finished()

    async def finished(self) -> None:
        """After the consumer's last message, however it ended (a crash or a cancellation included)."""

    def deliver(self, message: dict[str, Any]) -> None:
        """A message for this consumer from the process's layer reader, handled in turn with the client's."""
        try:
            self._inbox.put_nowait((message, None))
        except asyncio.QueueFull:
            pass  # as Channels does for a full channel: the tab catches up when it reconnects

    def fail(self, error: BaseException) -> None:
        """The layer failed: the consumer raises ``error`` (its socket closes; the tab reconnects)."""
        if self._inbox.full():
            self._inbox.get_nowait()
        self._inbox.put_nowait((None, error))

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
