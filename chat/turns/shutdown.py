"""Graceful shutdown: on SIGTERM, stop taking turns, let running replies finish, then let the server exit.

The handler is installed on the server's event loop at its first request (which also starts the reaper and
reads the MCP servers' tool lists), in front of the server's own
SIGTERM handler (daphne's Twisted reactor, uvicorn), which it calls once the running turns are done or the
grace period (SHUTDOWN_GRACE_SECONDS) is over. Replies still running then are stopped and saved as
``interrupted``, like a press of the stop button.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from typing import Any

from django.conf import settings

from chat.tools import mcp
from chat.turns import reaper, runtime

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {"installed": False, "draining": False}


def draining() -> bool:
    return bool(_state["draining"])


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Put the drain in front of the server's SIGTERM handler (once, from the main thread's loop)."""
    if _state["installed"] or threading.current_thread() is not threading.main_thread():
        return
    _state["installed"] = True
    if settings.REALTIME_REAPER:
        _state["reaper"] = loop.create_task(reaper.run())
    _state["mcp"] = loop.create_task(mcp.refresh_all())  # read the MCP servers' tool lists now
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(_drain(loop, previous)))


async def _drain(loop: asyncio.AbstractEventLoop, previous: Any) -> None:
    if _state["draining"]:
        return
    _state["draining"] = True
    grace = settings.SHUTDOWN_GRACE_SECONDS
    logger.warning("SIGTERM: refusing new turns; %d running, %.0f s to finish", len(runtime.running()), grace)
    deadline = loop.time() + grace
    while runtime.running() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    remaining = runtime.running()
    for control in remaining:
        control.stop()
    if remaining:
        await asyncio.wait([asyncio.ensure_future(c.done.wait()) for c in remaining], timeout=10)
        logger.warning("Saved %d unfinished repl(ies) as interrupted", len(remaining))
    loop.remove_signal_handler(signal.SIGTERM)
    if callable(previous):
        previous(signal.SIGTERM, None)
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


class GracefulShutdown:
    """ASGI wrapper that installs the handler on the first request the server receives."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if not _state["installed"]:
            install(asyncio.get_running_loop())
        return await self.app(scope, receive, send)
