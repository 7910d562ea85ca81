"""The product's settings on channels_redis's list-based layer, for bench/fanout.py's "redis" runs.

The product uses channels_redis's pub/sub layer with Redis; only the fan-out benchmark, which compares the two,
needs the other, so the switch lives here and not among the product's settings. A server process takes it with
``DJANGO_SETTINGS_MODULE=bench.settings_list_layer`` (and ``REDIS_URL``).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.settings import *  # noqa: F403
from config.settings import _HUB_CAPACITY, CHANNEL_LAYERS, REDIS_URL

if not REDIS_URL:
    raise ImproperlyConfigured("bench.settings_list_layer is a Redis channel layer: set REDIS_URL.")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # The product's hosts: their read timeout outlasts this layer's 5 s BZPOPMIN.
            "hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
            "capacity": 1000,
            "channel_capacity": _HUB_CAPACITY,
            "expiry": 30,
        },
    }
}
