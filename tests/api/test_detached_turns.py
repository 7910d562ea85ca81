"""A turn asked with ``detach`` goes on to its end when its request goes away (the page reloaded or closed):
saved whole and published as always. Without it, as the seed says, a client that aborts stops its turn."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def abort_after_tokens(server, token, chat, tokens: int, **extra) -> None:
    body = json.dumps({"message": "hi", "chatInstanceId": chat.public_id, **extra})
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /api/chat?stream=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    received = b""
    while received.count(b'"type":"token"') < tokens:
        received += await reader.read(4096)
    writer.transport.abort()


async def settled_reply(chat) -> Message:
    for _ in range(200):
        reply = await Message.objects.filter(chat=chat, role="assistant").afirst()
        if reply.status != "streaming":
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError("the reply never ended")


@pytest.mark.parametrize("detach", [True, False])
async def test_a_detached_turn_outlives_its_request(daphne_server, token, chat, llm, detach):
    llm.script(tokens=[f"t{i} " for i in range(40)], delay=0.03)
    await abort_after_tokens(daphne_server, token, chat, 3, detach=detach)
    reply = await settled_reply(chat)
    if detach:
        assert (reply.status, reply.finish_reason) == ("complete", "stop")
        assert reply.content == "".join(f"t{i} " for i in range(40))
        assert llm.chat_requests[-1].completed
    else:
        assert (reply.status, reply.finish_reason) == ("interrupted", "client_disconnected")


async def test_a_detached_turn_still_stops_on_request(daphne_server, token, chat, llm):
    llm.script(tokens=[f"t{i} " for i in range(200)], delay=0.03)
    await abort_after_tokens(daphne_server, token, chat, 3, detach=True)
    async with httpx.AsyncClient(base_url=daphne_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post(f"/api/chats/{chat.public_id}/stop", json={})  # to the process running it
    assert response.status_code == 200
    reply = await settled_reply(chat)
    assert (reply.status, reply.finish_reason) == ("interrupted", "stopped")
    assert len(reply.content) < len("".join(f"t{i} " for i in range(200)))
