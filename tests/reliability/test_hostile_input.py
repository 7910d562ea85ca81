"""R3 hostile uploads, R4 the authorization matrix, R7 websocket reconnects, and fuzzing of the JSON API."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.domain.services import api_token_create
from chat.models import Message
from config.asgi import application
from tests.conftest import HeaderClient, post_turn, read_stream
from voice.audio.decoding import decode, has_speech
from voice.exceptions import AudioRejected, NoSpeech

pytestmark = pytest.mark.django_db(transaction=True)

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def wav_claiming(seconds: float, actual: bytes = b"\0" * 3200) -> bytes:
    """A WAV header that claims ``seconds`` of 16 kHz mono audio, followed by very little of it."""
    size = int(seconds * 32000)
    header = (
        b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    )
    return header + b"data" + struct.pack("<I", min(size, 0xFFFFFFFF)) + actual


@pytest.fixture(scope="module")
def hour_of_silence(tmp_path_factory) -> Path:
    """One hour of silence as 6 kb/s opus: a small file that decodes to a lot of audio."""
    path = tmp_path_factory.mktemp("hostile") / "hour.webm"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3600",
                    "-c:a", "libopus", "-b:a", "6k", str(path)], check=True)  # fmt: skip
    return path


def measure(path: Path) -> tuple[str, float, float]:
    """What the upload pipeline does before transcription: decode within the limits, then look for speech."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        if not has_speech(decode(path, max_seconds=300, timeout=30).samples):
            raise NoSpeech()
        outcome = "accepted"
    except AudioRejected as error:
        outcome = f"{error.status} {error.code}"
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return outcome, elapsed, peak


def test_r3_hostile_uploads_are_refused_with_bounded_memory_and_time(tmp_path, hour_of_silence):
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    cases = {
        "empty": b"",
        "truncated webm": (AUDIO / "capital.webm").read_bytes()[:600],
        "wrong magic": b"\x00\x01\x02\x03" * 1000,
        "png named .webm": png,
        "claims 10 hours": wav_claiming(36000),
    }
    print("\nR3: outcome, decode time, peak Python memory")
    for name, data in cases.items():
        path = tmp_path / "upload.webm"
        path.write_bytes(data)
        outcome, elapsed, peak = measure(path)
        print(f"  {name:18} {outcome:24} {elapsed * 1000:7.1f} ms {peak:7.1f} MB")
        assert outcome != "accepted" and outcome[0] == "4"
        assert elapsed < 2 and peak < 50
    outcome, elapsed, peak = measure(hour_of_silence)
    print(f"  {'1 h silence, 6 kb/s':18} {outcome:24} {elapsed * 1000:7.1f} ms {peak:7.1f} MB "
          f"(file {hour_of_silence.stat().st_size / 1e6:.1f} MB)")  # fmt: skip
    assert outcome == "413 audio_too_long"
    assert elapsed < 5 and peak < 120  # stops at the 5-minute limit instead of decoding the hour


async def test_r4_authorization_matrix(api, other_api, chat, llm, token, other_user):
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


async def test_r7_reconnecting_sockets_lose_and_repeat_nothing(daphne_server, chat, token, llm):
    """Sockets dropped and reopened with ?after= while turns run: every message once, in order."""
    import httpx
    import websockets

    llm.default.tokens, llm.default.delay = [f"w{i} " for i in range(8)], 0.02
    seen: list[int] = []
    reconnects = 0

    async def flaky_reader(stop: asyncio.Event) -> None:
        nonlocal reconnects
        while not stop.is_set():
            after = seen[-1] if seen else 0
            url = f"ws://127.0.0.1:{daphne_server.port}/ws/chats/{chat.public_id}/?token={token}&after={after}"
            async with websockets.connect(url) as socket:
                reconnects += 1
                deadline = time.monotonic() + 0.15  # then drop the connection, mid-turn or not
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        event = json.loads(await asyncio.wait_for(socket.recv(), left))
                    except TimeoutError:
                        break
                    if event["type"] == "message_saved":
                        seen.append(event["message"]["seq"])

    stop = asyncio.Event()
    reader = asyncio.ensure_future(flaky_reader(stop))
    body = {"chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    async with httpx.AsyncClient(base_url=daphne_server.url, timeout=30) as http:
        for i in range(6):
            response = await http.post("/api/chat", json={**body, "message": f"turn {i}"},
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert response.status_code == 200
    await asyncio.sleep(0.6)
    stop.set()
    await reader
    print(f"\nR7: {len(seen)} messages over {reconnects} connections; expected 12, each once")
    assert seen == list(range(1, 13))


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["message", "chatInstanceId", "chatModelId", "stream", "includeTokens", "clientMessageId",
                         "model", "messages", "temperature", "max_tokens", "stop", "n", "session_id", "x"]),
        children, max_size=6),
    max_leaves=12,
))  # fmt: skip
def test_fuzzed_json_bodies_never_cause_a_500(body, transactional_db, token, chat_model, llm):
    client = HeaderClient({"Authorization": f"Bearer {token}"})
    for path in ("/api/chat", "/api/chats", "/v1/chat/completions"):
        response = asyncio.run(client.post(path, json.dumps(body), content_type="application/json"))
        assert response.status_code < 500, (path, body, response.content[:300])
        if hasattr(response, "streaming_content"):
            asyncio.run(_drain(response))


async def _drain(response) -> None:
    async for _ in response.streaming_content:
        pass


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), fields=st.dictionaries(st.sampled_from(
    ["chatInstanceId", "chatModelId", "stream", "language", "clientMessageId", "model", "response_format"]),
    st.text(max_size=20), max_size=5))  # fmt: skip
def test_fuzzed_uploads_never_cause_a_500(data, fields, transactional_db, token, chat_model, llm):
    client = HeaderClient({"Authorization": f"Bearer {token}"})
    for path, field in (("/api/chat/voice", "audio"), ("/v1/audio/transcriptions", "file")):
        upload = io.BytesIO(data)
        upload.name = "x.webm"
        response = asyncio.run(client.post(path, {**fields, field: upload}))
        assert response.status_code < 500, (path, fields, response.content[:300])
