"""One asyncio Redis client per event loop, for the live snapshots and the rate-limit counters.

The pool blocks briefly when busy rather than failing: a burst of reconnecting tabs must not error.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from chat.loops import for_running_loop
from config.redis import client_options

_clients: dict[Any, Any] = {}


def async_redis() -> Any:
    """The ``redis.asyncio.Redis`` client of the running loop, on ``settings.REDIS_URL``."""

    def make() -> Any:
        import redis.asyncio as redis

        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=10, **client_options()
        )
        return redis.Redis(connection_pool=pool)

    return for_running_loop(_clients, settings.REDIS_URL, make)
