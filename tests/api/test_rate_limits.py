"""The turn limits of every door that starts work: RATE_LIMIT_TURNS_PER_MINUTE (a 429 with Retry-After on
POST /api/chat, in OpenAI's shape on /v1/chat/completions, and counted by /v1/audio/transcriptions and
/v1/audio/speech too) and RATE_LIMIT_CONCURRENT_STREAMS (a slot given back when the reply ends).

The other limits are tested beside what they limit: sign-in attempts in tests/security/test_sign_in.py,
conversation mode (its pauses, its sockets) in tests/voice/test_conversation_limits.py; the counters behind
them all, in memory and in Redis, in tests/channels/test_realtime_backends.py.
"""

from __future__ import annotations

import asyncio

import pytest

from chat.models import ChatInstance, Message
from tests.conftest import post_turn, read_stream
from tests.support.audio import audio

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


async def test_transcriptions_count_against_the_turn_limits(api, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 1
    first = await api.post("/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("silence.wav")})
    assert first.status_code == 400 and first.json()["error"]["code"] == "no_speech"
    second = await api.post("/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("silence.wav")})
    assert second.status_code == 429 and second["Retry-After"]


async def test_speech_counts_against_the_turn_limits(api, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 1
    body = {"model": "tts-1", "voice": "alloy", "input": "Hi.", "response_format": "wav"}
    first = await api.post("/v1/audio/speech", body, content_type="application/json")
    assert first.status_code == 200
    b"".join([piece async for piece in first.streaming_content])
    second = await api.post("/v1/audio/speech", body, content_type="application/json")
    assert second.status_code == 429
