"""SIGTERM: new turns are refused, running replies finish within the grace period, the rest are saved."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest
from asgiref.sync import sync_to_async

from chat.models import ChatInstance, Message
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


async def stream_turn(server, token, chat) -> list[dict]:
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    events = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        http.stream("POST", "/api/chat?stream=true", json=body, headers=headers) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


GRACEFUL_EXIT = {"daphne": 0, "uvicorn": -signal.SIGTERM}


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_running_reply_finishes_and_new_turns_are_refused(kind, token, user, chat, llm):
    server = await sync_to_async(ServerProcess(kind, {"SHUTDOWN_GRACE_SECONDS": "10"}).start)()
    other = await ChatInstance.objects.acreate(owner=user, chat_model=chat.chat_model)
    try:
        llm.script(tokens=[f"w{i} " for i in range(20)], delay=0.1)
        running = asyncio.ensure_future(stream_turn(server, token, chat))
        await asyncio.sleep(0.6)
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            body = {"message": "late", "chatInstanceId": other.public_id, "chatModelId": chat.chat_model.public_id}
            refused = await http.post("/api/chat", json=body, headers={"Authorization": f"Bearer {token}"})
            ready = await http.get("/readyz")
        assert refused.status_code == 503 and "restarting" in refused.json()["error"]["message"]
        assert ready.status_code == 503
        events = await running
        assert events[-1]["finishReason"] == "stop"
        reply = await Message.objects.aget(chat=chat, role="assistant")
        assert reply.status == "complete" and reply.content == "".join(f"w{i} " for i in range(20))
        # A graceful exit: daphne returns 0; uvicorn, once shut down, re-raises the signal it caught.
        assert await asyncio.to_thread(server.proc.wait, 15) == GRACEFUL_EXIT[kind]
        assert await Message.objects.filter(chat=other).acount() == 0
    finally:
        server.stop()


async def test_reply_still_running_after_the_grace_period_is_saved(token, chat, llm):
    server = await sync_to_async(ServerProcess("daphne", {"SHUTDOWN_GRACE_SECONDS": "0.5"}).start)()
    try:
        llm.script(tokens=[f"w{i} " for i in range(100)], delay=0.1)
        running = asyncio.ensure_future(stream_turn(server, token, chat))
        await asyncio.sleep(0.6)
        server.proc.send_signal(signal.SIGTERM)
        events = await running
        assert events[-1]["finishReason"] == "stopped"
        reply = await Message.objects.aget(chat=chat, role="assistant")
        assert reply.status == "interrupted" and reply.content.startswith("w0 w1 ")
        assert await asyncio.to_thread(server.proc.wait, 15) == GRACEFUL_EXIT["daphne"]
    finally:
        server.stop()
