"""Conversation mode within the user's limits: a pause's transcription and early reply count as its turn, a
user over a limit makes no upstream request at all, one user's sockets are capped, and the utterances
waiting for their turn are bounded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.websocket import receive_until, socket
from tests.voice.test_conversation import connect, said, send_audio, silence

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


async def test_pauses_do_not_ask_the_model_past_the_turn_limit(chat, token, llm, settings):
    """Twelve pauses of a quarter second in one long turn once made twelve upstream requests (each with the
    whole history and the API key) while every turn was refused for the rate limit."""
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 3
    llm.script(tokens=["Early."], delay=0.05)
    ws = await connect(chat, token)
    phrase = said("What is the weather like today")
    audio = np.concatenate([silence(0.3), *([phrase, silence(0.25)] * 12), silence(1.5)])
    await send_audio(ws, audio, realtime=0.5)
    frames = await receive_until(ws, lambda e: e["type"] in ("error", "stream_end"), timeout=60)
    await ws.disconnect()
    assert len(llm.chat_requests) <= 3, len(llm.chat_requests)
    assert sum(f["type"] == "heard" for f in frames) <= 4  # no transcription while over the limit
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "rate_limited"


async def test_one_user_may_open_only_so_many_conversation_sockets(chat, token, settings):
    settings.RATE_LIMIT_VOICE_SOCKETS = 2
    first, second = await connect(chat, token), await connect(chat, token)
    third = socket(chat.public_id, token=token, voice=True)
    connected, _ = await third.connect()
    assert connected  # accepted to say why, then closed
    refusal = json.loads(await third.receive_from(5))
    assert refusal["code"] == "rate_limited" and "2 tabs" in refusal["message"]
    assert (await third.receive_output(5))["code"] == 4429
    await first.disconnect()
    again = await connect(chat, token)  # a closed socket gives its place back
    for ws in (second, again):
        await ws.disconnect()


async def test_utterances_waiting_for_their_turn_are_bounded(chat, token, llm, settings):
    llm.script(tokens=["A ", "slow ", "reply."], delay=1.5)
    ws = await connect(chat, token)
    question = said("What time is it")
    await send_audio(ws, np.concatenate([question, silence(1.0)]))
    await receive_until(ws, lambda e: e["type"] == "stream_start", timeout=30)
    # Five more utterances while the reply is still coming: two wait, the others are dropped as busy.
    await send_audio(ws, np.concatenate([*([question, silence(1.0)] * 5)]))
    frames = await receive_until(ws, lambda e: e["type"] == "dropped" and e["reason"] == "busy", timeout=30)
    assert frames[-1]["text"] == ""
    await ws.disconnect()
