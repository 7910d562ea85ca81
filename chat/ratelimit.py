"""Rate limits: turns per minute, streams at once (per user and per API token), failed sign-ins per address
and per username.

Counters are atomic, so they stay correct under concurrency: in Redis when ``REDIS_URL`` is set (shared by
every server process, one round trip per counter on the asyncio client), otherwise in this process's memory,
updated in place without leaving the event loop. (Django's cache API would run each async call on a thread
of its own, and its memory cache pickles every value: together most of a turn's rate-limit cost.) A limit
of 0 turns it off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from collections.abc import Awaitable, Callable

from django.conf import settings

from chat.cache import shared_cache
from chat.exceptions import RateLimited
from chat.redis import async_redis

STREAM_SLOT_TTL = 3600  # a crashed process cannot hold a slot longer than this


def subjects(user, raw_token: str | None) -> list[str]:
    """What a request is counted against: its user, and its API token when it has one."""
    keys = [f"user:{user.pk}"]
    if raw_token:
        keys.append("token:" + hashlib.sha256(raw_token.encode()).hexdigest()[:20])
    return keys


class LocalCounters:
    """Counters that expire ``ttl`` seconds after they were created, in this process's memory."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sign-in view counts from a worker thread
        self._counts: dict[str, list] = {}  # key -> [count, expires at (monotonic)]
        self._next_sweep = 0.0

    def incr(self, key: str, ttl: int) -> int:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._next_sweep = now + self.SWEEP_SECONDS
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                entry = self._counts[key] = [0, now + ttl]
            entry[0] += 1
            return entry[0]

    def get(self, key: str) -> int:
        with self._lock:
            entry = self._counts.get(key)
            return entry[0] if entry is not None and entry[1] > time.monotonic() else 0

    def decr(self, key: str) -> None:
        with self._lock:
            entry = self._counts.get(key)
            if entry is not None and entry[0] > 0:
                entry[0] -= 1

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_counters = LocalCounters()


async def _incr(key: str, ttl: int) -> int:
    """Add one to a counter that expires ``ttl`` seconds after it was created; the new count."""
    if settings.REDIS_URL:
        async with async_redis().pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            count, _ = await pipe.execute()
        return count
    return local_counters.incr(key, ttl)  # no I/O


def _sync_incr(key: str, ttl: int) -> int:
    """The same counter, from synchronous code: on Django's cache (Redis) or in this process's memory."""
    if not settings.REDIS_URL:
        return local_counters.incr(key, ttl)
    if shared_cache().add(key, 1, ttl):
        return 1
    try:
        return shared_cache().incr(key)
    except ValueError:  # expired between add and incr
        shared_cache().add(key, 1, ttl)
        return 1


async def _decr(key: str) -> None:
    if settings.REDIS_URL:
        if await async_redis().decr(key) < 0:  # it had expired
            await async_redis().delete(key)
        return
    local_counters.decr(key)


async def check_turn_rate(keys: list[str]) -> None:
    """At most RATE_LIMIT_TURNS_PER_MINUTE turns per user and per token, in fixed one-minute windows."""
    limit = settings.RATE_LIMIT_TURNS_PER_MINUTE
    if not limit:
        return
    window = int(time.time() // 60)
    for key in keys:
        if await _incr(f"rl:turns:{key}:{window}", 61) > limit:
            retry = 60 - int(time.time() % 60)
            raise RateLimited(
                f"Too many messages: the limit is {limit} a minute. Try again in {retry} seconds.", retry_after=retry
            )


async def acquire_stream(keys: list[str]) -> Callable[[], Awaitable[None]]:
    """Take one of RATE_LIMIT_CONCURRENT_STREAMS slots per user and token; returns the release function."""
    limit = settings.RATE_LIMIT_CONCURRENT_STREAMS
    taken: list[str] = []

    async def release() -> None:
        for key in taken:
            await _decr(key)
        taken.clear()

    if not limit:
        return release
    for subject in keys:
        key = f"rl:streams:{subject}"
        taken.append(key)
        if await _incr(key, STREAM_SLOT_TTL) > limit:
            await release()
            raise RateLimited(
                f"Too many replies streaming at once (the limit is {limit}). Wait for one to finish.", retry_after=2
            )
    return release


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or, when that is one of ``TRUSTED_PROXIES``, the nearest address
    in ``X-Forwarded-For`` that is not (what a client writes there itself comes first and is not believed)."""
    address = request.META.get("REMOTE_ADDR", "")
    if not settings.TRUSTED_PROXIES or not _is_trusted_proxy(address):
        return address
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _is_trusted_proxy(hop):
            return hop
    return forwarded[0] if forwarded else address


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES)


def _login_keys(request, username: str) -> list[str]:
    window = int(time.time() // 60)
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:20]
    return [f"rl:login:ip:{client_address(request)}:{window}", f"rl:login:user:{name}:{window}"]


def _sync_count(key: str) -> int:
    if not settings.REDIS_URL:
        return local_counters.get(key)
    return shared_cache().get(key) or 0


def login_wait(request, username: str) -> int | None:
    """Seconds to wait before signing in again, when this address or this username has failed too often
    this minute (RATE_LIMIT_LOGINS_PER_MINUTE); None when it may try."""
    limit = settings.RATE_LIMIT_LOGINS_PER_MINUTE
    if not limit or not any(_sync_count(key) >= limit for key in _login_keys(request, username)):
        return None
    return 60 - int(time.time() % 60)


def login_failed(request, username: str) -> None:
    """Count a failed sign-in against the client's address and the username (successes are not counted)."""
    if settings.RATE_LIMIT_LOGINS_PER_MINUTE:
        for key in _login_keys(request, username):
            _sync_incr(key, 61)
