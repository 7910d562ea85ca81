"""Another user's chat, its messages and its audio are out of reach on every door (HTTP, websocket, /v1), as they
are without a session or with a bad token, and a signed-in browser cannot write without the CSRF token: the
answer is a 404 (or 401) that gives nothing away, and nothing is saved."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from chat.domain.services import api_token_create
from chat.models import ChatInstance, Message
from config.asgi import application
from tests.conftest import HeaderClient, post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


async def test_another_users_chat_is_404(other_api, chat, llm):
    response = await post_turn(other_api, chat)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "chat_not_found"
    for path in ("", "/messages"):
        assert (await other_api.get(f"/api/chats/{chat.public_id}{path}")).status_code == 404
    assert (await other_api.post(f"/api/chats/{chat.public_id}/stop")).status_code == 404
    assert (await other_api.delete(f"/api/chats/{chat.public_id}")).status_code == 404
    assert await Message.objects.acount() == 0 and await ChatInstance.objects.acount() == 1


async def test_every_door_refuses_strangers_anonymous_and_bad_tokens(api, other_api, chat, llm, token, other_user):
    """Another user's chat, messages and audio over HTTP, websocket and /v1; no session; bad token; no CSRF."""
    await read_stream(await post_turn(api, chat, "my secret question"))
    reply = await Message.objects.aget(chat=chat, role="assistant")
    secret = [b"my secret question", b"Hello, world", chat.title.encode() or b"my secret"]  # (ids echo the request)
    requests = [
        ("get", f"/api/chats/{chat.public_id}"),
        ("get", f"/api/chats/{chat.public_id}/messages"),
        ("patch", f"/api/chats/{chat.public_id}"),
        ("delete", f"/api/chats/{chat.public_id}"),
        ("post", f"/api/chats/{chat.public_id}/stop"),
        ("get", f"/api/messages/{reply.public_id}/audio"),
        ("post", f"/api/messages/{reply.public_id}/feedback"),
    ]
    anonymous, bad_token = AsyncClient(), HeaderClient({"Authorization": "Bearer tok_forged"})
    for client, expected in ((other_api, 404), (anonymous, 401), (bad_token, 401)):
        for method, path in requests:
            response = await getattr(client, method)(path, {}, content_type="application/json")
            assert response.status_code == expected, (method, path, response.status_code)
            assert not any(s in response.content for s in secret), (method, path)
    stolen = await post_turn(other_api, chat, "let me in")
    assert stolen.status_code == 404
    # A signed-in browser without the CSRF token cannot write.
    browser = AsyncClient(enforce_csrf_checks=True)
    await browser.aforce_login(other_user)
    assert (await browser.post("/api/chats", {}, content_type="application/json")).status_code == 403
    # /v1: a bad key, and someone else's conversation id.
    body = {"model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    assert (await bad_token.post("/v1/chat/completions", body, content_type="application/json")).status_code == 401
    theirs = await other_api.post("/v1/chat/completions", {**body, "chat_instance_id": chat.public_id},
                                  content_type="application/json")  # fmt: skip
    assert theirs.status_code == 200 and theirs.json()["chat_instance_id"] != chat.public_id  # a new chat of theirs
    assert await Message.objects.filter(chat=chat).acount() == 2
    # Websocket: stranger, anonymous, bad token, foreign origin.
    stranger_token = (await sync_to_async(api_token_create)(user=other_user))[1]
    local, evil = b"http://127.0.0.1:8000", b"https://evil.example"
    for query, origin in ((f"token={stranger_token}", local), ("", local), ("token=tok_forged", local),
                          (f"token={token}", evil)):  # fmt: skip
        ws = WebsocketCommunicator(
            application,
            f"/ws/chats/{chat.public_id}/?{query}",
            headers=[(b"origin", origin), (b"host", b"127.0.0.1:8000")],
        )
        connected, _ = await ws.connect()
        assert not connected
        await ws.disconnect()
