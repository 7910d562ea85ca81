"""State shared by running turns, their readers and other processes; see ``chat.realtime.base``."""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from chat.realtime.base import RealtimeBackend

BACKENDS = {"memory": "chat.realtime.memory.MemoryBackend", "redis": "chat.realtime.redis.RedisBackend"}


@functools.cache
def get_backend() -> RealtimeBackend:
    """The configured backend (``REALTIME_BACKEND``, by default ``redis`` with ``REDIS_URL``, else ``memory``)."""
    backend: RealtimeBackend = import_string(BACKENDS.get(settings.REALTIME_BACKEND, settings.REALTIME_BACKEND))()
    return backend
