"""Channels' ``AsyncConsumer.dispatch``, without its thread hop per message.

Channels' own ``dispatch`` first closes stale database connections on a worker thread, before every
handler: a thread hop for every frame pushed to every tab, most of the cost of fanning out to many tabs.
A consumer with this mixin must touch the database only through ``database_sync_to_async`` (which closes
stale connections itself). The body follows ``channels.consumer.AsyncConsumer.dispatch`` without that call.
"""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name


class DispatchWithoutThreadHop:
    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
