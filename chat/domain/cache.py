"""The process's one client of the default cache."""

from __future__ import annotations

import functools

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache


@functools.cache
def shared_cache() -> BaseCache:
    """The default cache, one client per process.

    ``django.core.cache.cache`` keeps a client per thread and async context. Work run on a database thread
    with a copy of the request's context (``chat.domain.db.run_db``) got a new client on every call: with Redis,
    a new connection pool and a new connection for every API request. The two backends this project
    configures (Redis, local memory) are safe to share between threads.
    """
    return caches.create_connection("default")
