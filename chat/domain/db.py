"""Database work from async code, on a few long-lived threads.

``sync_to_async(thread_sensitive=True)`` inside a request runs on a thread created for that request, so
every request pays for a new thread and a new database connection before its first query. Services here
are self-contained (each opens its own transaction), so they run on a small fixed pool instead: the
threads stay warm, and so do their connections. After each call the connection is handed back the way
Django would at the end of a request: kept (SQLite, or ``CONN_MAX_AGE``) or returned to the psycopg pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.DB_THREADS, thread_name_prefix="db")
    return _executor


def _call(fn: Callable[..., R], args, kwargs) -> R:
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def run_db(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a synchronous ORM function on the database threads and return its result."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, _call, fn, args, kwargs)
    return await loop.run_in_executor(_get_executor(), call)


def db(fn: Callable[P, R]) -> Callable[P, asyncio.Future[R]]:
    """Decorator form of ``run_db``."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_db(fn, *args, **kwargs)

    return wrapper
