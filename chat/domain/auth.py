"""Who an API token belongs to, for every door that takes one (HTTP and websockets)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache.backends.locmem import LocMemCache

from chat.domain.cache import shared_cache
from chat.domain.db import run_db
from chat.domain.services import api_token_authenticate, api_token_cached_user, api_token_lookup


async def token_user(raw: str) -> AbstractBaseUser | None:
    """The active user of an API token, or None, through Django's cache (``api_token_authenticate``).

    A cache in this process's memory is read here, on the event loop, and only a miss goes to a database
    thread; any other cache (Redis) is network I/O, read on that thread with the lookup.
    """
    if isinstance(shared_cache(), LocMemCache):
        if (user := api_token_cached_user(raw=raw)) is not None:
            return user
        return await run_db(api_token_lookup, raw=raw)
    return await run_db(api_token_authenticate, raw=raw)
