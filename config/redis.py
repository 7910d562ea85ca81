"""Redis connection options, shared by the settings and ``chat.realtime.client``; nothing here imports the product."""

from __future__ import annotations

from typing import Any


def client_options() -> dict[str, Any]:
    """Options for every Redis client of a process: the channel layer, the cache and the asyncio client.

    Unless told its own version, redis-py 8 reads it from the package metadata for every new connection
    (about 1.5 ms of CPU), and a burst of websocket connects opens hundreds of connections.
    """
    try:
        from redis import DriverInfo, __version__
    except ImportError:  # older redis-py does not read the metadata per connection
        return {}
    return {"driver_info": DriverInfo(lib_version=__version__)}
