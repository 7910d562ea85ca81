"""Hostile input: uploads made to cost memory or time (truncated, mislabelled, a header claiming ten hours, an
hour of silence in a small file) are refused quickly and in little memory (the figures print), and fuzzed JSON
bodies and uploads never cause a 500."""

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
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import HeaderClient
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


def test_hostile_uploads_are_refused_with_bounded_memory_and_time(tmp_path, hour_of_silence):
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    cases = {
        "empty": b"",
        "truncated webm": (AUDIO / "capital.webm").read_bytes()[:600],
        "wrong magic": b"\x00\x01\x02\x03" * 1000,
        "png named .webm": png,
        "claims 10 hours": wav_claiming(36000),
    }
    print("\nhostile uploads: outcome, decode time, peak Python memory")
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
