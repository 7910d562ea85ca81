"""Counters that expire, for the rate limits (``chat.http.ratelimit``): in this process's memory, or in Redis
for several processes (``REDIS_URL``). Django's backends pattern, as ``chat.realtime.get_backend`` follows:
this interface, one class per place the counts live, and ``get_counters()`` to pick one, once.

Not Django's cache API on the hot path: its memory cache pickles every value and its async API runs each call
on a thread of its own (together most of a turn's rate-limit cost, measured by ``bench/relay.py``). Synchronous
code (the sign-in views) counts in the cache on Redis, where the counts must be shared.
"""

from __future__ import annotations

import functools
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from django.conf import settings

from chat.domain.cache import shared_cache
from chat.realtime.client import async_redis


class Counters(ABC):
    @abstractmethod
    async def incr(self, key: str, ttl: int) -> int:
        """Add one to a counter that expires ``ttl`` seconds after it was created; the new count."""

    @abstractmethod
    async def decr(self, key: str) -> None:
        """Take one from a counter, never below zero."""

    @abstractmethod
    def incr_sync(self, key: str, ttl: int) -> int:
        """``incr`` for synchronous code (the sign-in views)."""

    @abstractmethod
    def count_sync(self, key: str) -> int:
        """A counter's value (0 when it does not exist), for synchronous code."""


class LocalCounters(Counters):
    """Counters in this process's memory, updated in place without leaving the event loop."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sign-in views count from a worker thread
        self._counts: dict[str, list[Any]] = {}  # key -> [count, expires at (monotonic)]
        self._next_sweep = 0.0

    async def incr(self, key: str, ttl: int) -> int:
        return self.incr_sync(key, ttl)

    async def decr(self, key: str) -> None:
        with self._lock:
            entry = self._counts.get(key)
            if entry is not None and entry[0] > 0:
                entry[0] -= 1

    def incr_sync(self, key: str, ttl: int) -> int:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._next_sweep = now + self.SWEEP_SECONDS
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                entry = self._counts[key] = [0, now + ttl]
            entry[0] += 1
            return int(entry[0])

    def count_sync(self, key: str) -> int:
        with self._lock:
            entry = self._counts.get(key)
            return entry[0] if entry is not None and entry[1] > time.monotonic() else 0

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class RedisCounters(Counters):
    """Counters in Redis, shared by every process."""

    @property
    def client(self) -> Any:
        return async_redis()

    async def incr(self, key: str, ttl: int) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def decr(self, key: str) -> None:
        if await self.client.decr(key) < 0:  # it had expired
            await self.client.delete(key)

    def incr_sync(self, key: str, ttl: int) -> int:
        cache = shared_cache()
        if cache.add(key, 1, ttl):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, ttl)
            return 1

    def count_sync(self, key: str) -> int:
        return shared_cache().get(key) or 0


@functools.cache
def get_counters() -> Counters:
    """Redis counters with ``REDIS_URL``, this process's otherwise."""
    return RedisCounters() if settings.REDIS_URL else LocalCounters()
