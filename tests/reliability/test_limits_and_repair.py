"""Rate limits (turns per minute, streams at once, sign-in attempts) and start-up repair."""

from __future__ import annotations

import asyncio

import pytest
from django.core.management import call_command
from django.test import AsyncClient

from chat.models import ChatInstance, Message
from tests.conftest import post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]


async def test_turns_per_minute_gives_429_with_retry_after(api, chat, llm, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 3
    for _ in range(3):
        response = await post_turn(api, chat)
        assert response.status_code == 200
        await read_stream(response)
    refused = await post_turn(api, chat)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "limit is 3 a minute" in refused.json()["error"]["message"]
    assert await Message.objects.filter(chat=chat).acount() == 6


async def test_concurrent_streams_are_limited_and_released(api, user, chat_model, llm, settings):
    settings.RATE_LIMIT_CONCURRENT_STREAMS = 1
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=chat_model) for _ in range(2)]
    llm.script(tokens=["slow"] * 20, delay=0.05)
    first = await post_turn(api, chats[0])
    reader = asyncio.ensure_future(read_stream(first))
    await asyncio.sleep(0.2)
    second = await post_turn(api, chats[1])
    assert second.status_code == 429 and "at once" in second.json()["error"]["message"]
    await reader
    third = await post_turn(api, chats[1])
    assert third.status_code == 200  # the slot came back when the first reply ended
    await read_stream(third)


async def test_v1_rate_limit_is_openai_shaped(api, chat_model, llm, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 1
    body = {"model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    assert (await api.post("/v1/chat/completions", body, content_type="application/json")).status_code == 200
    refused = await api.post("/v1/chat/completions", body, content_type="application/json")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert refused.json()["error"]["type"] == "rate_limit_error"


def test_start_up_repair_marks_orphans_interrupted(chat, capsys):
    Message.objects.create(chat=chat, seq=1, role="user", content="hi")
    orphan = Message.objects.create(chat=chat, seq=2, role="assistant", status="streaming", content="")
    call_command("interrupt_orphans")
    orphan.refresh_from_db()
    assert orphan.status == "interrupted" and orphan.finish_reason == "server_restart"
    assert "1 unfinished reply" in capsys.readouterr().out


async def test_health_and_readiness():
    client = AsyncClient()
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


async def test_in_memory_counters_expire_and_never_go_below_zero(monkeypatch):
    from chat.realtime import counters as module

    counters, now = module.LocalCounters(), [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    assert [await counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    await counters.decr("k")
    assert await counters.incr("k", 60) == 3
    now[0] += 61  # the window is over: a new count, and the sweep drops the old entries
    assert await counters.incr("k", 60) == 1 and await counters.incr("other", 60) == 1
    for _ in range(3):
        await counters.decr("other")
    assert await counters.incr("other", 60) == 1
