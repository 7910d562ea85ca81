"""The whole conversation-mode loop on this machine: speech in over the websocket, in real time, to the
reply's first audio out, with the bundled local LLM and the default speech engines.

    .venv/bin/python bench/voice_loop.py [--utterances 8]

Eight questions of 2–5 s, spoken by piper (trailing silence trimmed, so that the clip ends where the speech
does), are streamed to /ws/chats/<ci>/voice/ of a server process as a microphone would send them (100 ms
frames, in real time, then silence). For each one it times, from the end of the speech: the final text (the
``heard`` frame, when its words are those of the turn's ``transcription``; else that event), the turn's
``transcription`` event (sent once the silence has ended the turn), the reply's first token, and its first
audio (the first ``speech`` event). It runs twice: with conversation mode's default transcription
(faster-whisper tiny.en) and with the multilingual openai-whisper base. The reference, measured in the same
run, is the transcription alone: the same clip through the same engine in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from common import ENV, ROOT, pct, setup_django, start_server

from voice.conversation.vad import Utterances

QUESTIONS = [
    "What is the capital of France?",
    "How many days are there in a week?",
    "Can you tell me a fun fact about the moon?",
    "What is the boiling point of water in Celsius?",
    "Name a famous painting by Leonardo da Vinci.",
    "What colour do you get when you mix blue and yellow?",
    "Which planet is closest to the sun, and how hot is it there during the day?",
    "Give me one tip for sleeping better at night.",
]
FRAME = 1600  # 100 ms at 16 kHz


def spoken(text: str) -> np.ndarray:
    from voice.synthesis.registry import get_speech_engine

    speech = get_speech_engine().synthesize(text)
    count = int(len(speech.samples) * 16_000 / speech.sample_rate)
    positions = np.linspace(0, len(speech.samples) - 1, count)
    samples = np.interp(positions, np.arange(len(speech.samples)), speech.samples).astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    return samples[: loud[-1] + 1] if len(loud) else samples


def pcm(samples: np.ndarray) -> list[bytes]:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return [data[i : i + FRAME * 2] for i in range(0, len(data), FRAME * 2)]


async def one_turn(ws, audio: np.ndarray) -> dict[str, float]:
    import websockets

    silence = bytes(FRAME * 2)
    for frame in [silence] * 3 + pcm(audio):
        await ws.send(frame)
        await asyncio.sleep(0.1)
    ended = time.monotonic()
    times: dict[str, float] = {}
    heard: dict[str, float] = {}
    done = asyncio.Event()

    async def listen() -> None:
        while not done.is_set():
            try:
                event = json.loads(await ws.recv())
            except websockets.ConnectionClosed:
                return
            kind = event.get("type")
            now = time.monotonic() - ended
            if kind == "heard":
                heard[event["text"]] = now
            elif kind == "transcription":
                times["turn"] = now
                times["text"] = min(heard.get(event["text"], now), now)
            elif kind == "token":
                times.setdefault("token", now)
            elif kind == "speech":
                times.setdefault("audio", now)
            elif kind in ("stream_end", "dropped", "error"):
                times["end"] = now
                done.set()

    listener = asyncio.create_task(listen())
    while not done.is_set():  # the microphone goes on sending silence
        await ws.send(silence)
        await asyncio.sleep(0.1)
        if time.monotonic() - ended > 120:
            break
    listener.cancel()
    for _ in range(10):
        await ws.send(silence)
        await asyncio.sleep(0.1)
    return times


async def run_loop(url: str, chat_id: str, token: str, clips: list[np.ndarray]) -> list[dict[str, float]]:
    import websockets

    uri = f"{url.replace('http', 'ws')}/ws/chats/{chat_id}/voice/?token={token}"
    async with websockets.connect(uri, max_size=None, additional_headers={"Origin": url}) as ws:
        results = []
        for clip in clips:
            results.append(await one_turn(ws, clip))
        return results


def prepare(engine: str, model: str) -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance, ChatModel

    user, _ = get_user_model().objects.get_or_create(username="voice-bench")
    chat_model, _ = ChatModel.objects.get_or_create(
        name="local (voice bench)",
        defaults={"provider": "local", "system_prompt": "Answer in one short sentence.", "temperature": 0.2,
                  "max_tokens": 48},
    )  # fmt: skip
    chat = ChatInstance.objects.create(owner=user, chat_model=chat_model, title=f"{engine} {model}")
    return chat.public_id, api_token_create(user=user)[1]


def reference(clips: list[np.ndarray], engine: str, model: str) -> list[float]:
    """The transcription alone, in this process: what the loop's first stage cannot beat."""
    from voice.transcription.registry import get_engine

    transcriber = get_engine(engine, model)
    transcriber.transcribe(clips[0], short=True)  # warm
    out = []
    for clip in clips:
        started = time.perf_counter()
        transcriber.transcribe(clip, short=True)
        out.append(time.perf_counter() - started)
    return out


def tts_rtf() -> tuple[float, float]:
    from voice.synthesis.registry import get_speech_engine

    rates = {}
    for name in ("piper", "espeak-ng"):
        engine = get_speech_engine(name, "")
        engine.synthesize("Warm up.")
        spent = audio = 0.0
        for text in QUESTIONS:
            started = time.perf_counter()
            speech = engine.synthesize(text)
            spent += time.perf_counter() - started
            audio += speech.seconds
        rates[name] = spent / audio
    return rates["piper"], rates["espeak-ng"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=8)
    args = parser.parse_args()
    setup_django()
    clips = [spoken(text) for text in (QUESTIONS * 2)[: args.utterances]]
    lengths = [len(c) / 16_000 for c in clips]
    print(f"voice loop benchmark: {len(clips)} questions of {min(lengths):.1f}–{max(lengths):.1f} s, streamed in "
          f"real time; bundled local LLM; replies spoken by piper; 2 cores")  # fmt: skip
    piper_rtf, espeak_rtf = tts_rtf()
    print(
        f"  TTS real-time factor: piper {piper_rtf:.3f} (goal <= 0.1: {piper_rtf / 0.1:.2f}x the goal); "
        f"espeak-ng {espeak_rtf:.3f} (reference)"
    )
    for engine, model in (("faster-whisper", "tiny.en"), ("openai-whisper", "base")):
        chat_id, token = prepare(engine, model)
        port = 8700 + (engine == "faster-whisper")
        env = {"VOICE_WHISPER_ENGINE": engine, "VOICE_WHISPER_MODEL": model, "LOCAL_LLM_PRELOAD": "1",
               "LOG_LEVEL": "WARNING", "RATE_LIMIT_TURNS_PER_MINUTE": "0"}  # fmt: skip
        server = start_server("uvicorn", port, extra_env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the local model loads in the background
                ready = subprocess.run(["curl", "-s", f"{url}/readyz"], capture_output=True, text=True).stdout
                if '"ok"' in ready and "loading" not in ready:
                    break
                time.sleep(1)
            asyncio.run(run_loop(url, chat_id, token, clips[:1]))  # warm every engine in the server
            results = asyncio.run(run_loop(url, chat_id, token, clips))
        finally:
            server.terminate()
            server.wait(20)
        ref = reference(clips, engine, model)
        stored = server_side(chat_id)
        print(f"\n  {engine} {model}  (seen by the client; in brackets, as the server recorded it)")
        for key, label, goal in (("text", "end of speech -> final transcription", 0.5),
                                 ("turn", "end of speech -> turn (600 ms silence)", None),
                                 ("token", "end of speech -> first token", None),
                                 ("audio", "end of speech -> first audio", 1.2)):  # fmt: skip
            values = [r[key] for r in results if key in r]
            if not values:
                print(f"    {label:40} (none)")
                continue
            p50, p95 = pct(values, 50), pct(values, 95)
            own = stored.get(key) or []
            recorded = f" [p50 {pct(own, 50):5.2f} s]" if own else ""
            verdict = f"  goal p50 <= {goal} s: {p50 / goal:.2f}x" if goal else ""
            print(f"    {label:40} p50 {p50:5.2f} s  p95 {p95:5.2f} s{recorded}{verdict}")
        heard = pct([r["text"] for r in results if "text" in r], 50)
        print(f"    {'transcription alone, in process (ref)':40} p50 {statistics.median(ref):5.2f} s")
        print(
            f"    the client sees the text {heard - statistics.median(ref):+.2f} s after the transcription alone would "
            f"take: the pause ({Utterances.tentative_ms} ms) after which transcribing starts"
        )


def server_side(chat_id: str) -> dict[str, list[float]]:
    """The latencies the server stored with each voice message of the chat (seconds)."""
    from voice.models import AudioRecording

    rows = AudioRecording.objects.filter(message__chat__public_id=chat_id).values_list(
        "text_after_ms", "first_token_after_ms", "first_audio_after_ms"
    )
    out: dict[str, list[float]] = {"text": [], "token": [], "audio": []}
    for row in list(rows)[1:]:  # the first turn warmed the server
        for key, value in zip(("text", "token", "audio"), row, strict=True):
            if value is not None:
                out[key].append(value / 1000)
    return out


if __name__ == "__main__":
    os.environ.update({k: v for k, v in ENV.items() if k not in os.environ})
    sys.path.insert(0, str(ROOT))
    main()
