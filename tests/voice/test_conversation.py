"""Conversation mode over a real websocket to the ASGI app: utterances of real (synthesised) speech are found by
Silero VAD, heard by Whisper and answered aloud; silence makes no message; speech over the reply stops it."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import Message
from tests.support.websocket import receive_until, socket
from voice.models import AudioRecording
from voice.transcription.hallucinations import is_hallucination

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    assert (settings.VOICE_WHISPER_ENGINE, settings.VOICE_WHISPER_MODEL) == ("faster-whisper", "tiny.en")  # default
    settings.MEDIA_ROOT = tmp_path / "media"


def said(text: str) -> np.ndarray:
    """Speech at 16 kHz, from piper (as a person's voice would come from the microphone)."""
    from voice.synthesis.registry import get_speech_engine

    speech = get_speech_engine().synthesize(text)
    count = int(len(speech.samples) * 16_000 / speech.sample_rate)
    return np.interp(np.linspace(0, len(speech.samples) - 1, count), np.arange(len(speech.samples)), speech.samples)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16_000))


def pcm(samples: np.ndarray) -> list[bytes]:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return [data[i : i + 3200] for i in range(0, len(data), 3200)]  # 100 ms frames


async def connect(chat, token) -> WebsocketCommunicator:
    ws = socket(chat.public_id, token=token, voice=True)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def send_audio(ws, samples: np.ndarray, realtime: float = 0.0) -> None:
    for frame in pcm(samples):
        await ws.send_to(bytes_data=frame)
        if realtime:
            await asyncio.sleep(0.1 * realtime)


async def test_two_utterances_are_heard_answered_and_spoken(chat, token, llm, settings):
    settings.VOICE_SILENCE_MS = 1000  # room for the pause's transcription on a busy test machine
    llm.script(tokens=["Paris ", "is ", "the ", "capital."], delay=0.05)
    llm.script(tokens=["Rome ", "is."], delay=0.05)
    ws = await connect(chat, token)
    # The first utterance comes in real time, as from a microphone: its words are heard (a ``heard`` frame)
    # while the silence that ends the turn is still being waited out.
    await send_audio(ws, np.concatenate([silence(0.5), said("What is the weather in London tomorrow?"), silence(1.5)]),
                     realtime=1)  # fmt: skip
    await send_audio(ws, np.concatenate([said("Should I take an umbrella with me?"), silence(1.2)]))
    first = await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)
    heard = next(e for e in first if e["type"] == "heard")
    transcription = next(e for e in first if e["type"] == "transcription")
    assert first.index(heard) < first.index(transcription) and heard["text"] == transcription["text"]
    # The model was asked on those words at once, before the turn began (its message was saved), and the
    # turn took that reply over (one request per turn, below).
    asked = llm.chat_requests[0]
    assert asked.body["messages"][-1]["content"] == transcription["text"]
    user_message = await Message.objects.aget(public_id=transcription["messageId"])
    asked_at = asked.received_at + (time.time() - time.monotonic())  # the server's clock is monotonic
    assert asked_at < user_message.created_at.timestamp()
    second = await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)
    # piper's voice varies a little from run to run (its noise scales): most of the key words must be heard.
    for events, words in ((first, ("weather", "london", "tomorrow")), (second, ("take", "umbrella", "with"))):
        types = [e["type"] for e in events]
        states = [e["state"] for e in events if e["type"] == "status"]
        assert "transcribing" in states and "thinking" in states and "speaking" in states
        transcription = next(e for e in events if e["type"] == "transcription")
        heard = [word for word in words if word in transcription["text"].lower()]
        assert len(heard) >= 2, transcription["text"]
        assert types.index("transcription") < types.index("stream_start") < types.index("speech")
        assert events[-1]["finishReason"] == "stop"
    await ws.disconnect()
    messages = [m async for m in Message.objects.filter(chat=chat).order_by("seq")]
    assert [(m.role, m.source, m.status) for m in messages] == [
        ("user", "voice", "complete"), ("assistant", "text", "complete"),
    ] * 2  # fmt: skip
    assert len(llm.chat_requests) == 2  # one request per turn: the early one was not asked again
    assert messages[1].content == "Paris is the capital." and messages[3].content == "Rome is."
    recordings = [r async for r in AudioRecording.objects.order_by("id")]
    assert len(recordings) == 2 and all(r.format == "wav" and r.duration_ms > 1000 for r in recordings)
    assert all(r.text_after_ms is not None and r.first_audio_after_ms is not None for r in recordings)


async def test_a_reply_begun_on_a_pause_is_dropped_when_the_person_goes_on(chat, token, llm, settings):
    settings.VOICE_SILENCE_MS = 1500
    llm.script(tokens=["Too ", "early."], delay=0.2)
    llm.script(tokens=["The ", "whole ", "question."])
    ws = await connect(chat, token)
    audio = np.concatenate([silence(0.3), said("What is the weather like"), silence(0.9),
                            said("in London tomorrow?"), silence(2.0)])  # fmt: skip
    await send_audio(ws, audio, realtime=1)
    events = await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)
    transcription = next(e for e in events if e["type"] == "transcription")
    assert "london" in transcription["text"].lower()
    # Whatever was asked on the first words, the turn's reply answers the whole question.
    assert llm.chat_requests[-1].body["messages"][-1]["content"] == transcription["text"]
    reply = await Message.objects.aget(chat=chat, role="assistant")
    assert (reply.status, reply.content) == ("complete", "The whole question.")
    await ws.disconnect()


async def test_silence_and_noise_make_no_message(chat, token, llm):
    ws = await connect(chat, token)
    noise = np.random.default_rng(1).normal(0, 0.02, 16_000 * 3)
    await send_audio(ws, np.concatenate([silence(2), noise, silence(1)]))
    await asyncio.sleep(1)
    assert await Message.objects.filter(chat=chat).acount() == 0
    assert not llm.chat_requests
    await ws.disconnect()


async def test_speaking_over_the_reply_stops_it(chat, token, llm):
    llm.script(tokens=[f"word{i}. " for i in range(200)], delay=0.1)
    llm.script(tokens=["Okay."])
    ws = await connect(chat, token)
    await send_audio(ws, np.concatenate([said("Tell me a very long story please."), silence(1)]))
    await receive_until(ws, lambda e: e["type"] == "speech", timeout=60)
    await ws.send_to(text_data=json.dumps({"type": "playing", "messageId": "x", "index": 0}))
    await send_audio(ws, np.concatenate([said("Stop, stop. What time is it?"), silence(1)]), realtime=1)
    events = await receive_until(ws, lambda e: e["type"] == "barge_in", timeout=60)
    ended = await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)
    assert ended[-1]["finishReason"] == "stopped"
    await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)  # the new utterance is the next turn
    await ws.disconnect()
    first_reply = await Message.objects.aget(chat=chat, seq=2)
    assert first_reply.status == "interrupted" and first_reply.finish_reason == "barge_in"
    assert first_reply.content.startswith("word0.")
    assert await Message.objects.filter(chat=chat).acount() == 4
    assert events


async def test_garbage_frames_close_the_socket_with_a_reason(chat, token):
    ws = await connect(chat, token)
    await ws.send_to(bytes_data=b"\x01\x02\x03")  # not 16-bit samples
    error = (await receive_until(ws, lambda e: e["type"] == "error", timeout=5))[-1]
    assert "16-bit PCM" in error["message"]
    closed = await ws.receive_output(5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4400
    ws = await connect(chat, token)
    await ws.send_to(text_data="not json")
    assert (await receive_until(ws, lambda e: e["type"] == "error", timeout=5))[-1]["code"] == "bad_frame"


async def test_only_the_owner_may_talk(chat, other_user):
    from chat.domain.services import api_token_create

    stranger = (await sync_to_async(api_token_create)(user=other_user))[1]
    connected, _ = await socket(chat.public_id, token=stranger, voice=True).connect()
    assert not connected


async def test_speaking_over_a_reply_still_playing_keeps_what_was_heard(chat, token, llm):
    llm.script(tokens=["First sentence. ", "Second sentence. ", "Third sentence."])
    llm.script(tokens=["Okay."])
    ws = await connect(chat, token)
    await send_audio(ws, np.concatenate([said("Tell me three things."), silence(1)]))
    await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)  # streamed; the page still plays it
    await ws.send_to(text_data=json.dumps({"type": "playing", "messageId": "x", "index": 0}))
    await send_audio(ws, np.concatenate([said("Wait, stop please."), silence(1)]), realtime=1)
    await receive_until(ws, lambda e: e["type"] == "barge_in", timeout=60)
    await receive_until(ws, lambda e: e["type"] == "stream_end", timeout=60)  # the new utterance's turn
    await ws.disconnect()
    reply = await Message.objects.aget(chat=chat, seq=2)
    assert (reply.status, reply.finish_reason, reply.content) == ("interrupted", "barge_in", "First sentence.")


@pytest.mark.parametrize("text", ["What is the capital of France?", "Give me one tip for sleeping better at night."])
def test_an_utterance_in_a_short_window_is_heard_as_in_the_full_one(text):
    """Conversation mode encodes an utterance in a window of 10 s rather than Whisper's 30 s (three times
    faster on 2 cores); the words are the same."""
    from voice.transcription.registry import get_engine

    engine = get_engine("faster-whisper", "tiny.en")
    clip = said(text).astype(np.float32)
    assert engine.transcribe(clip, short=True).text == engine.transcribe(clip).text
    nothing = engine.transcribe(silence(1.0).astype(np.float32), short=True).text
    assert not nothing.strip() or is_hallucination(nothing, 0)  # dropped, as silence is
