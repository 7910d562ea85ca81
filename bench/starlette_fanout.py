"""A bare Starlette fan-out: the floor ``bench/fanout.py`` compares the product with (bench only).

    uvicorn bench.starlette_fanout:app --port 18650 --ws-per-message-deflate false

No database, no auth, no channel layer, no turn: websockets on the product's path join one set, and each
``POST /api/chat`` pushes what a turn of the product pushes to every socket, each frame encoded once and written
to each socket in turn: the user's ``message_saved``, the turn's frames (to the sockets that did not open with
``?live=0``), then the reply's ``message_saved``. Its messages are the same size as the product's.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

every: set[WebSocket] = set()
live: set[WebSocket] = set()
seq = [0]


async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept()
    every.add(websocket)
    if websocket.query_params.get("live") != "0":
        live.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        every.discard(websocket)
        live.discard(websocket)


def saved(role: str, content: str) -> str:
    """A ``message_saved`` frame with the fields (and about the size) of the product's."""
    seq[0] += 1
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    message = {"id": f"ms_{seq[0]:022d}", "chatInstanceId": "ci_0000000000000000000000", "seq": seq[0],
               "role": role, "content": content, "html": f"<p>{content}</p>", "reasoning": "", "status": "complete",
               "source": "text", "finishReason": "stop", "usage": {"promptTokens": 12, "completionTokens": 5},
               "timings": {"ttftMs": 3, "durationMs": 9}, "error": None, "clientMessageId": None, "toolCalls": [],
               "clarification": None, "feedback": None, "createdAt": now, "completedAt": now,
               "speech": {"url": f"/api/messages/ms_{seq[0]:022d}/speech"}}  # fmt: skip
    return json.dumps({"type": "message_saved", "message": message}, separators=(",", ":"))


async def push(sockets: set[WebSocket], text: str) -> None:
    for websocket in list(sockets):
        try:
            await websocket.send_text(text)
        except Exception:  # noqa: BLE001 - a socket gone meanwhile
            pass


async def turn(request: Request) -> JSONResponse:
    body = await request.json()
    await push(every, saved("user", body.get("message", "")))
    frames = [
        {"type": "stream_start", "eventId": 1, "fromEventId": 1},
        {"type": "status", "message": "thinking…", "eventId": 2, "fromEventId": 2},
        {"type": "token", "content": " t0 t1 t2 t3 t4", "eventId": 7, "fromEventId": 3},
        {"type": "stream_end", "finishReason": "stop", "eventId": 10, "fromEventId": 8},
    ]
    for frame in frames:
        await push(live, json.dumps(frame, separators=(",", ":")))
        await asyncio.sleep(0)
    await push(every, saved("assistant", " t0 t1 t2 t3 t4"))
    return JSONResponse({"ok": True})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/api/chat", turn, methods=["POST"]),
        Route("/healthz", healthz),
        WebSocketRoute("/ws/chats/{chat_id}/", subscribe),
    ]
)
