"""One asyncio Redis client per event loop, for the live snapshots and the rate-limit counters.

The pool blocks briefly when busy rather than failing: a burst of reconnecting tabs must not error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings

_clients: dict[int, Any] = {}


def async_redis() -> Any:
    """The ``redis.asyncio.Redis`` client of the running loop, on ``settings.REDIS_URL``."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _clients:
        import redis.asyncio as redis

        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=10
        )
        _clients[loop_id] = redis.Redis(connection_pool=pool)
    return _clients[loop_id]
