"""One asyncio Redis client per event loop, for the live snapshots and the rate-limit counters.

The pool blocks briefly when busy rather than failing: a burst of reconnecting tabs must not error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings

_clients: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}


def async_redis() -> Any:
    """The ``redis.asyncio.Redis`` client of the running loop, on ``settings.REDIS_URL``."""
    loop = asyncio.get_running_loop()
    known = _clients.get(id(loop))
    if known is None or known[0] is not loop:  # (a new loop may reuse a closed one's id)
        import redis.asyncio as redis

        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=10
        )
        known = _clients[id(loop)] = (loop, redis.Redis(connection_pool=pool))
    return known[1]
