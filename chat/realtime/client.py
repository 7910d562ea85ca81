"""One asyncio Redis client per event loop, for the live snapshots and the rate-limit counters.

The pool blocks briefly when busy rather than failing: a burst of reconnecting tabs must not error.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from chat.loops import for_running_loop

_clients: dict[Any, Any] = {}


def client_options() -> dict[str, Any]:
    """Connection options for every Redis client here: the channel layer, the cache and the asyncio client.

    Unless told its own version, redis-py 8 reads it from the package metadata for every new connection
    (about 1.5 ms of CPU), and a burst of websocket connects opens hundreds of connections.
    """
    try:
        from redis import DriverInfo, __version__
    except ImportError:  # older redis-py does not read the metadata per connection
        return {}
    return {"driver_info": DriverInfo(lib_version=__version__)}


def async_redis() -> Any:
    """The ``redis.asyncio.Redis`` client of the running loop, on ``settings.REDIS_URL``."""

    def make() -> Any:
        import redis.asyncio as redis

        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=10, **client_options()
        )
        return redis.Redis(connection_pool=pool)

    return for_running_loop(_clients, settings.REDIS_URL, make)
