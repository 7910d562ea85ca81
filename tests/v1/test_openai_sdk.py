"""The official openai SDK, unchanged, against a live server process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import openai
import pytest
from asgiref.sync import sync_to_async

from chat.models import ChatInstance, Message

pytestmark = pytest.mark.django_db(transaction=True)

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sdk(daphne_server, token) -> openai.OpenAI:
    # A generous timeout: the first transcription loads Whisper in the server, slow on a busy 2-core machine.
    return openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=token, max_retries=0, timeout=120)


def test_models(sdk, chat_model):
    models = sdk.models.list().data
    assert [m.id for m in models] == [chat_model.public_id]
    assert sdk.models.retrieve(chat_model.public_id).id == chat_model.public_id
    assert sdk.models.retrieve("test-model").id == chat_model.public_id  # the name works too


def test_non_streaming(sdk, chat_model, llm):
    llm.script(tokens=["The ", "capital ", "is ", "Paris."])
    result = sdk.chat.completions.create(
        model=chat_model.public_id,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        temperature=0.1,
        max_tokens=20,
        stop=["\n\n"],
    )
    assert result.object == "chat.completion"
    assert result.choices[0].message.content == "The capital is Paris."
    assert result.choices[0].finish_reason == "stop"
    assert result.usage.completion_tokens == 4 and result.usage.total_tokens == 11
    upstream = llm.chat_requests[-1].body
    assert upstream["temperature"] == 0.1 and upstream["max_tokens"] == 20 and upstream["stop"] == ["\n\n"]
    # Stateless, as with OpenAI: the client's messages are used as given, and nothing is stored.
    assert upstream["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert Message.objects.count() == 0


def test_streaming_with_usage_and_done(sdk, chat_model, llm, daphne_server, token):
    llm.script(tokens=["Hel", "lo", "!"], reasoning=["thinking"])
    stream = sdk.chat.completions.create(
        model="test-model",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == "Hello!"
    reasoning = [c.choices[0].delta.model_extra.get("reasoning_content") for c in chunks if c.choices]
    assert "thinking" in reasoning
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3

    raw = httpx.post(
        f"{daphne_server.url}/v1/chat/completions",
        json={"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        headers={"Authorization": f"Bearer {token}"},
    ).text
    assert raw.rstrip().endswith("data: [DONE]")


def test_session_id_keeps_the_conversation(sdk, chat_model, llm, daphne_server, token):
    llm.script(tokens=["Paris."])
    first = sdk.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": "Capital of France?"}],
        extra_body={"session_id": "my-app-session-1"},
    )  # fmt: skip
    llm.script(tokens=["About two million."])
    second = sdk.chat.completions.create(
        model="test-model",
        messages=[{"role": "user", "content": "And its population?"}],
        extra_body={"session_id": "my-app-session-1"},
    )
    chat_id = first.model_extra["chat_instance_id"]
    assert second.model_extra["chat_instance_id"] == chat_id
    assert llm.chat_requests[-1].body["messages"][-3:] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And its population?"},
    ]
    listed = httpx.get(
        f"{daphne_server.url}/api/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {token}"}
    ).json()["messages"]
    assert [m["content"] for m in listed] == ["Capital of France?", "Paris.", "And its population?",
                                              "About two million."]  # fmt: skip
    assert ChatInstance.objects.get(public_id=chat_id).session_key == "my-app-session-1"
    # The ci_ id works as a session id as well.
    llm.script(tokens=["Yes."])
    sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "Sure?"}],
                                extra_body={"chat_instance_id": chat_id})  # fmt: skip
    assert Message.objects.filter(chat__public_id=chat_id).count() == 6


def test_errors_in_openai_shape(sdk, daphne_server, chat_model, llm):
    bad_key = openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key="tok_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.models.list()
    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert unknown.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "hi"}], n=3)
    assert "n=1" in bad.value.message
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="test-model", messages=[], temperature=0.5)
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "hi"}], temperature=7)


def test_upstream_failure_is_an_api_error(sdk, chat_model, llm):
    llm.script(fault="status:500")
    with pytest.raises(openai.InternalServerError):
        sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "hi"}])
    llm.script(tokens=["a", "b", "c"], fault="reset", fault_after=1)
    stream = sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "hi"}],
                                         stream=True)  # fmt: skip
    with pytest.raises(openai.APIError):
        list(stream)


@pytest.mark.slow
@pytest.mark.parametrize("response_format", ["json", "text", "verbose_json", "srt", "vtt"])
def test_transcriptions(sdk, response_format):
    with open(AUDIO / "weather.wav", "rb") as audio:
        result = sdk.audio.transcriptions.create(model="whisper-1", file=audio, response_format=response_format)
    text = result if isinstance(result, str) else result.text
    assert all(word in text.lower() for word in ("weather", "london", "umbrella")), text
    if response_format == "verbose_json":
        assert result.language == "en" and 10 < result.duration < 12 and result.segments
    if response_format == "srt":
        assert text.startswith("1\n00:00:0") and " --> " in text
    if response_format == "vtt":
        assert text.startswith("WEBVTT")


@pytest.mark.slow
def test_transcription_engine_by_name_and_bad_upload(sdk):
    with open(AUDIO / "capital.webm", "rb") as audio:
        result = sdk.audio.transcriptions.create(model="faster-whisper:tiny.en", file=audio)
    assert "capital" in result.text.lower()
    with pytest.raises(openai.BadRequestError) as error:
        sdk.audio.transcriptions.create(model="whisper-1", file=("photo.webm", b"\x89PNG\r\n\x1a\nxxxx"))
    assert "not audio" in error.value.message


@pytest.mark.slow
def test_readme_curl_examples(daphne_server, token, chat_model, llm, tmp_path):
    """Every curl example in docs/api.md, run as written, in order (with this server's address and token), in a
    folder of its own that sees the repository's test fixtures (an example writes hello.mp3)."""
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    readme = (ROOT / "docs" / "api.md").read_text()
    blocks = [b.split("```")[0] for b in readme.split("```bash\n")[1:]]
    examples = [b for b in blocks if "curl" in b]
    assert len(examples) >= 7 and sum("/v1/" in b for b in examples) >= 4
    env = {"TOKEN": token, "MODEL": chat_model.public_id, "PATH": "/usr/bin:/bin"}
    script = "set -euo pipefail\n" + "\n".join(examples).replace("http://127.0.0.1:8000", daphne_server.url)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"error": {' not in result.stdout and '"error":{' not in result.stdout, result.stdout
    for expected in ('"models"', '"type":"stream_end"', '"type":"transcription"', '"chat.completion"',
                     "data: [DONE]", '"segments"'):  # fmt: skip
        assert expected in result.stdout, expected
    assert (tmp_path / "hello.mp3").read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")


async def test_v1_turn_is_pushed_to_open_tabs(daphne_server, token, chat, llm):
    import asyncio
    import json

    import websockets

    url = f"ws://127.0.0.1:{daphne_server.port}/ws/chats/{chat.public_id}/?token={token}"
    async with websockets.connect(url) as ws:
        async with httpx.AsyncClient(base_url=daphne_server.url, timeout=10) as http:
            await http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                            json={"model": "test-model", "messages": [{"role": "user", "content": "hi"}],
                                  "chat_instance_id": chat.public_id})  # fmt: skip
        saved = []
        while len(saved) < 2:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event["type"] == "message_saved":
                saved.append(event["message"])
    assert [m["role"] for m in saved] == ["user", "assistant"]
    assert await sync_to_async(Message.objects.filter(chat=chat).count)() == 2


async def test_stateless_requests_can_be_logged_as_conversations(api, chat_model, llm, settings):
    settings.OPENAI_API_LOG_CONVERSATIONS = True
    body = {"model": "test-model", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"}]}  # fmt: skip
    response = await api.post("/v1/chat/completions", body, content_type="application/json")
    assert response.status_code == 200
    chat_id = response.json()["chat_instance_id"]
    stored = [(m.role, m.content) async for m in Message.objects.filter(chat__public_id=chat_id).order_by("seq")]
    assert stored == [("user", "first"), ("assistant", "ok"), ("user", "second"), ("assistant", "Hello, world!")]
    # The client's own list went upstream as given.
    assert llm.chat_requests[-1].body["messages"][0] == {"role": "system", "content": "Be brief."}
