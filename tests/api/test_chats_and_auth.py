"""Chats, models and messages endpoints, and the two ways in: sessions with CSRF, and API tokens (minted by
``manage.py create_api_token``, stored hashed, refused at once when revoked; minted in the admin:
tests/admin/test_api_tokens.py)."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.test import AsyncClient

from chat.models import ApiToken, ChatInstance
from tests.conftest import HeaderClient, post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


async def test_models_lists_active_models(api, chat_model):
    from chat.models import ChatModel

    await ChatModel.objects.acreate(name="retired", is_active=False)
    data = (await api.get("/api/models")).json()
    assert data == {
        "models": [{"id": chat_model.public_id, "name": "test-model", "provider": "openai", "isDefault": False,
                    "model": "test-upstream"}]
    }  # fmt: skip


async def test_chat_crud(api, chat_model):
    created = await api.post("/api/chats", {"chatModelId": chat_model.public_id}, content_type="application/json")
    assert created.status_code == 201
    chat = created.json()
    assert chat["id"].startswith("ci_") and len(chat["id"]) == 25 and chat["chatModelId"] == chat_model.public_id

    listed = (await api.get("/api/chats")).json()["chats"]
    assert [c["id"] for c in listed] == [chat["id"]]

    renamed = await api.patch(f"/api/chats/{chat['id']}", {"title": "  Trip plans "}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "Trip plans"
    assert (await api.get(f"/api/chats/{chat['id']}")).json()["title"] == "Trip plans"

    assert (await api.delete(f"/api/chats/{chat['id']}")).status_code == 204
    assert (await api.get(f"/api/chats/{chat['id']}")).status_code == 404


async def test_chat_create_defaults_to_first_active_model(api, chat_model):
    created = await api.post("/api/chats", {}, content_type="application/json")
    assert created.status_code == 201 and created.json()["chatModelId"] == chat_model.public_id


async def test_chats_list_newest_first_and_title_from_first_message(api, user, chat_model, llm):
    older = await ChatInstance.objects.acreate(owner=user, chat_model=chat_model)
    newer = await ChatInstance.objects.acreate(owner=user, chat_model=chat_model)
    await read_stream(await post_turn(api, older, "What is the tallest mountain?"))
    await read_stream(
        await post_turn(api, newer, "Plan a three day trip to Lisbon with museums, food markets and a day at the beach")
    )
    chats = (await api.get("/api/chats")).json()["chats"]
    assert [c["id"] for c in chats] == [newer.public_id, older.public_id]
    assert chats[1]["title"] == "What is the tallest mountain?"
    assert chats[0]["title"] == "Plan a three day trip to Lisbon with museums, food markets…"


async def test_messages_after_seq(api, chat, llm):
    for text in ("one", "two", "three"):
        await read_stream(await post_turn(api, chat, text))
    all_messages = (await api.get(f"/api/chats/{chat.public_id}/messages")).json()["messages"]
    assert [m["seq"] for m in all_messages] == [1, 2, 3, 4, 5, 6]
    assert [m["role"] for m in all_messages] == ["user", "assistant"] * 3
    after = (await api.get(f"/api/chats/{chat.public_id}/messages?after=4")).json()
    assert [m["seq"] for m in after["messages"]] == [5, 6] and after["hasMore"] is False
    page = (await api.get(f"/api/chats/{chat.public_id}/messages?after=0&limit=2")).json()
    assert [m["seq"] for m in page["messages"]] == [1, 2] and page["hasMore"] is True
    bad = await api.get(f"/api/chats/{chat.public_id}/messages?after=abc")
    assert bad.status_code == 400 and "'after'" in bad.json()["error"]["message"]


async def test_no_credentials_is_401(chat_model):
    response = await AsyncClient().get("/api/chats")
    assert response.status_code == 401
    assert "Sign in" in response.json()["error"]["message"]


async def test_bad_or_revoked_token_is_401(user, token, chat_model):
    bad = await HeaderClient({"Authorization": "Bearer tok_nope"}).get("/api/chats")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    client = HeaderClient({"Authorization": f"Bearer {token}"})
    assert (await client.get("/api/chats")).status_code == 200  # the answer is now cached
    stored = await ApiToken.objects.aget(user=user)
    stored.revoked = True
    await stored.asave()  # as the admin does: the cached answer goes at once
    revoked = await client.get("/api/chats")
    assert revoked.status_code == 401


async def test_a_deactivated_users_token_stops_at_once(user, token, chat_model):
    client = HeaderClient({"Authorization": f"Bearer {token}"})
    assert (await client.get("/api/chats")).status_code == 200
    user.is_active = False
    await user.asave()
    assert (await client.get("/api/chats")).status_code == 401


async def test_tokens_are_stored_hashed(user, token):
    stored = await ApiToken.objects.aget(user=user)
    assert token not in (stored.key_hash, stored.prefix) and token.startswith(stored.prefix)


async def test_session_auth_requires_csrf_for_writes(user, chat, llm):
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(user)
    assert (await client.get("/api/chats")).status_code == 200
    refused = await client.post("/api/chats", {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"

    await client.get("/accounts/login/")  # sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    accepted = await client.post("/api/chats", {}, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201
    response = await client.post(
        "/api/chat?stream=true",
        {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    events, _ = await read_stream(response)
    assert events[-1]["type"] == "stream_end"


def test_create_api_token_command(user, capsys):
    call_command("create_api_token", "alice", "--name", "laptop")
    out = capsys.readouterr().out
    raw = out.strip().splitlines()[-1]
    assert raw.startswith("tok_")
    assert ApiToken.objects.get(user=user).name == "laptop"


async def test_method_not_allowed(api):
    response = await api.put("/api/chat")
    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis cache (the suite's second pass)")
async def test_api_requests_reuse_the_redis_connection(api, chat_model):
    import redis
    from django.conf import settings

    server = redis.Redis.from_url(settings.REDIS_URL)
    assert (await api.get("/api/chats")).status_code == 200
    opened = server.info("stats")["total_connections_received"]
    for _ in range(20):
        assert (await api.get("/api/chats")).status_code == 200
    # Django's cache proxy made a client (and so a connection) per request on the database threads.
    assert server.info("stats")["total_connections_received"] - opened <= 2
    server.close()
