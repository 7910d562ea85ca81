"""Spoken replies: ``speech`` events among a turn's tokens (piper, in process), and ``/v1/audio/speech``
through the official openai package. The audio is decoded with PyAV and heard back by Whisper."""

from __future__ import annotations

import base64
import io

import av
import numpy as np
import openai
import pytest

from tests.conftest import post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = [
    "The weather in London ", "is rainy today. ", "Take an umbrella.\n\n", "```python\n",
    "print('secret code words')\n", "```\n\n", "Have a nice day!",
]  # fmt: skip


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples at 16 kHz, and the duration in ms, of an encoded clip."""
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        chunks = [
            out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
        ]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples, int(len(samples) / 16)


def hear(samples: np.ndarray) -> str:
    from voice.transcription.registry import get_engine

    return get_engine("faster-whisper", "base").transcribe(samples).text.lower()


@pytest.fixture(scope="module", autouse=True)
def warm_voice():
    from voice.synthesis.registry import get_speech_engine

    get_speech_engine().load()


async def test_a_spoken_text_turn_streams_speech_in_order_and_never_reads_code(api, chat, llm):
    llm.script(tokens=REPLY, delay=0.4)
    events, _ = await read_stream(await post_turn(api, chat, "Weather?", speak=True))
    types = [e["type"] for e in events]
    speech = [e for e in events if e["type"] == "speech"]
    assert [e["index"] for e in speech] == list(range(len(speech))) and len(speech) == 3
    assert [e["text"] for e in speech] == [
        "The weather in London is rainy today.", "Take an umbrella.", "Have a nice day!",
    ]  # fmt: skip
    assert types.index("speech") < types.index("agent_response")  # the first sentence speaks while it streams
    assert types[-1] == "stream_end" and all(e["messageId"] == events[0]["assistantMessageId"] for e in speech)
    assert all(e["mime"] == "audio/ogg; codecs=opus" for e in speech)
    audio = np.concatenate([decode(base64.b64decode(e["audio"]))[0] for e in speech])
    heard = hear(audio)
    # piper's voice varies a little from run to run (its noise scales): most of the words must be heard.
    assert sum(word in heard for word in ("weather", "london", "rainy", "umbrella", "nice", "day")) >= 4, heard
    assert "secret" not in heard and "print" not in heard


async def test_speech_is_only_for_who_asked(api, chat, llm):
    llm.script(tokens=["One sentence. ", "Two sentences."])
    events, _ = await read_stream(await post_turn(api, chat, "Hi"))
    assert "speech" not in [e["type"] for e in events]  # not asked
    llm.script(tokens=["One sentence. ", "Two sentences."])
    await read_stream(await post_turn(api, chat, "Hi", speak=True))
    # The GET stream leaves speech out unless asked, and says so with fromEventId.
    plain = (await api.get(f"/api/chats/{chat.public_id}/events", {"after": "4:0"})).streaming_content
    text = b"".join([piece async for piece in plain]).decode()
    assert '"type":"speech"' not in text and '"fromEventId"' in text
    asked = (await api.get(f"/api/chats/{chat.public_id}/events", {"after": "4:0", "speech": "1"})).streaming_content
    assert '"type":"speech"' in b"".join([piece async for piece in asked]).decode()


@pytest.fixture
def sdk(daphne_server, token) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=token, max_retries=0, timeout=60)


@pytest.mark.parametrize("fmt", ["mp3", "opus", "wav", "flac", "aac"])
def test_speech_api_with_the_openai_package(sdk, fmt):
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello from the speech server. It streams each sentence.",
        response_format=fmt,
    ) as response:  # fmt: skip
        data = b"".join(response.iter_bytes())
        assert response.headers["content-type"].startswith("audio/")
    samples, duration_ms = decode(data)
    assert duration_ms > 1000
    if fmt == "wav":
        heard = hear(samples)
        assert sum(word in heard for word in ("hello", "speech", "server", "streams", "sentence")) >= 3, heard


def test_speech_api_pcm_is_24khz_16bit(sdk):
    data = sdk.audio.speech.create(model="piper", voice="en_US-joe-medium", input="Testing.", response_format="pcm")
    pcm = np.frombuffer(data.content, dtype="<i2")
    assert 0.3 < len(pcm) / 24_000 < 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": ""}, "'input' must be the text to speak"),
        ({"input": "x" * 4097}, "'input' is too long"),
        ({"voice": "nobody"}, "The voice 'nobody' is not offered here"),
        ({"response_format": "ogg-vorbis"}, "'response_format' must be one of"),
        ({"model": "tts-9"}, "Unknown model"),
        ({"speed": 9}, "'speed' must be"),
        ({"voice": "v" * 10_000}, "'voice' must be a voice name of at most 100 characters"),
        ({"model": "piper", "voice": "w" * 99}, "The voice '" + "w" * 60 + "' is"),
    ],
)
async def test_speech_api_bad_input_is_a_clear_400(api, body, message):
    request = {"model": "tts-1", "voice": "alloy", "input": "Hi.", **body}
    response = await api.post("/v1/audio/speech", request, content_type="application/json")
    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert len(response.content) < 1000  # what was sent is not echoed back whole
