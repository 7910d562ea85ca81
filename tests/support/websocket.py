"""A chat's websockets as a browser on http://127.0.0.1:8000 opens them, through the project's ASGI application."""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator

from config.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def socket(
    chat_id: str, *, token: str | None = None, query: str = "", headers=None, voice: bool = False
) -> WebsocketCommunicator:
    """A socket as a browser on http://127.0.0.1:8000 opens it (``headers`` replace the Origin); ``voice``:
    the chat's conversation-mode socket."""
    params = "&".join(p for p in (f"token={token}" if token else "", query) if p)
    path = f"/ws/chats/{chat_id}/" + ("voice/" if voice else "") + (f"?{params}" if params else "")
    return WebsocketCommunicator(application, path, headers=[HOST, *(headers if headers is not None else [ORIGIN])])


async def receive_until(ws: WebsocketCommunicator, predicate, timeout: float = 5.0) -> list[dict]:
    received = []
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await ws.receive_from(timeout))
            received.append(event)
            if predicate(event):
                return received
