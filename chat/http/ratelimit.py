"""Rate limits: turns per minute, streams at once (per user and per API token), conversation-mode sockets per
user, failed sign-ins per address and per username (or per browser, for one that signed in as that user before).

Counters are atomic, so they stay correct under concurrency; they live in Redis, shared by every server
process, or in this process's memory (``chat.realtime.counters``). A limit of 0 turns it
off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.core import signing

from chat.exceptions import RateLimited
from chat.realtime.counters import get_counters

STREAM_SLOT_TTL = 3600  # a crashed process cannot hold a slot longer than this


def subjects(user, raw_token: str | None) -> list[str]:
    """What a request is counted against: its user, and its API token when it has one."""
    keys = [f"user:{user.pk}"]
    if raw_token:
        keys.append("token:" + hashlib.sha256(raw_token.encode()).hexdigest()[:20])
    return keys


async def check_turn_rate(keys: list[str]) -> None:
    """At most RATE_LIMIT_TURNS_PER_MINUTE turns per user and per token, in fixed one-minute windows."""
    limit = settings.RATE_LIMIT_TURNS_PER_MINUTE
    if not limit:
        return
    window = int(time.time() // 60)
    for key in keys:
        if await get_counters().incr(f"rl:turns:{key}:{window}", 61) > limit:
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
            await get_counters().decr(key)
        taken.clear()

    if not limit:
        return release
    for subject in keys:
        key = f"rl:streams:{subject}"
        taken.append(key)
        if await get_counters().incr(key, STREAM_SLOT_TTL) > limit:
            await release()
            raise RateLimited(
                f"Too many replies streaming at once (the limit is {limit}). Wait for one to finish.", retry_after=2
            )
    return release


async def acquire_voice_socket(user) -> Callable[[], Awaitable[None]]:
    """Take one of RATE_LIMIT_VOICE_SOCKETS conversation-mode sockets of this user; returns the release."""
    limit = settings.RATE_LIMIT_VOICE_SOCKETS
    key = f"rl:voice-sockets:user:{user.pk}"

    async def release() -> None:
        await get_counters().decr(key)

    if not limit:
        return _nothing
    if await get_counters().incr(key, STREAM_SLOT_TTL) > limit:
        await release()
        raise RateLimited(
            f"Conversation mode is already open in {limit} tabs or windows; close one to talk here.", retry_after=5
        )
    return release


async def _nothing() -> None:
    return None


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


# A browser that has signed in as a user before carries a signed cookie that says so (OWASP's "device
# cookies"). Its attempts for that user count against that cookie alone, so a stranger's wrong passwords,
# which lock the username and their own address, do not lock out the person on their own browser.
DEVICE_COOKIE = "signin_device"
DEVICE_MAX_AGE = 365 * 24 * 3600
_DEVICE_SALT = "chat.http.ratelimit.device"


def _name(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:20]


def remember_device(response, username: str) -> None:
    """Mark the browser that just signed in as ``username`` as one of theirs."""
    value = signing.dumps({"u": _name(username), "d": secrets.token_hex(8)}, salt=_DEVICE_SALT)
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=settings.SESSION_COOKIE_SECURE)  # fmt: skip


def _device(request, username: str) -> str | None:
    """The id of this browser's sign-in cookie, when it has signed in as ``username`` before."""
    try:
        data = signing.loads(request.COOKIES.get(DEVICE_COOKIE, ""), salt=_DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    return str(data["d"]) if isinstance(data, dict) and data.get("u") == _name(username) else None


def _login_keys(request, username: str) -> list[str]:
    window = int(time.time() // 60)
    if (device := _device(request, username)) is not None:
        return [f"rl:login:device:{device}:{window}"]
    return [f"rl:login:ip:{client_address(request)}:{window}", f"rl:login:user:{_name(username)}:{window}"]


def login_wait(request, username: str) -> int | None:
    """Seconds to wait before signing in again, when this address or this username has failed too often
    this minute (RATE_LIMIT_LOGINS_PER_MINUTE); None when it may try. A browser that signed in as this
    user before is held to its own failures only."""
    limit = settings.RATE_LIMIT_LOGINS_PER_MINUTE
    if not limit or not any(get_counters().count_sync(key) >= limit for key in _login_keys(request, username)):
        return None
    return 60 - int(time.time() % 60)


def login_failed(request, username: str) -> None:
    """Count a failed sign-in against the client's address and the username (successes are not counted)."""
    if settings.RATE_LIMIT_LOGINS_PER_MINUTE:
        for key in _login_keys(request, username):
            get_counters().incr_sync(key, 61)
