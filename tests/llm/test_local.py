"""The embedded local model (llama.cpp with the default Qwen2.5 GGUF), through the same /api/chat turn."""

from __future__ import annotations

import asyncio

import pytest

from chat.models import ChatInstance, ChatModel, Message
from tests.conftest import parse_sse, post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUESTION = "What is the capital of France? Answer in one sentence."


@pytest.fixture
def local_model(transactional_db) -> ChatModel:
    return ChatModel.objects.create(
        name="local", provider="local", system_prompt="You are a helpful assistant.", temperature=0.2, max_tokens=64
    )


@pytest.fixture
def local_chat(user, local_model) -> ChatInstance:
    return ChatInstance.objects.create(owner=user, chat_model=local_model)


def types_of(events):
    return [t for i, t in enumerate(e["type"] for e in events) if i == 0 or events[i - 1]["type"] != t]


async def test_local_model_answers_paris(api, local_chat):
    events, _ = await read_stream(await post_turn(api, local_chat, QUESTION))
    assert types_of(events) == ["stream_start", "status", "token", "agent_response", "message_saved", "stream_end"]
    answer = events[-3]["content"]
    assert "Paris" in answer
    assert "".join(e["content"] for e in events if e["type"] == "token") == answer
    saved = events[-2]["message"]
    assert saved["status"] == "complete" and saved["content"] == answer
    assert saved["usage"]["completionTokens"] > 0 and saved["usage"]["promptTokens"] > 10
    assert events[-1]["finishReason"] in {"stop", "length"}


async def test_two_turns_at_once_take_turns(api, user, local_model):
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=local_model) for _ in range(2)]
    questions = [QUESTION, "What is the capital of Italy? Answer in one sentence."]
    responses = await asyncio.gather(*(post_turn(api, c, q) for c, q in zip(chats, questions, strict=True)))
    results = await asyncio.gather(*(read_stream(r) for r in responses))
    answers = [events[-3]["content"] for events, _ in results]
    assert "Paris" in answers[0] and "Rome" in answers[1]
    statuses = [[e["message"] for e in events if e["type"] == "status"] for events, _ in results]
    assert any("waiting for the model" in s for group in statuses for s in group)


async def test_stop_mid_reply_saves_interrupted(api, local_chat, local_model):
    await ChatModel.objects.filter(pk=local_model.pk).aupdate(max_tokens=400)
    response = await post_turn(api, local_chat, "Write a long story about a lighthouse keeper, at least 300 words.")
    # Stop once the model has begun to answer (a slow machine can take seconds to read the prompt): the
    # turn runs on its own task, so it keeps going while this test is not reading.
    stream, pieces = aiter(response.streaming_content), []
    async for piece in stream:
        pieces.append(piece)
        if b'"type":"token"' in piece:
            break
    stop = await api.post(f"/api/chats/{local_chat.public_id}/stop")
    assert stop.json()["stopped"] is True
    pieces += [piece async for piece in stream]
    events = parse_sse(b"".join(pieces))
    assert events[-1]["finishReason"] == "stopped"
    reply = await Message.objects.aget(chat=local_chat, role="assistant")
    assert reply.status == "interrupted" and reply.content
    # The model is free again at once: the next turn is answered.
    events, _ = await read_stream(await post_turn(api, local_chat, QUESTION))
    assert "Paris" in events[-3]["content"]


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
async def test_bad_weights_file_is_a_clear_error(api, user, tmp_path, problem):
    path = tmp_path / "model.gguf"
    if problem == "corrupt":
        path.write_bytes(b"GGUF" + b"\x00" * 4096)
    model = await ChatModel.objects.acreate(name=f"broken-{problem}", provider="local", local_path=str(path))
    chat = await ChatInstance.objects.acreate(owner=user, chat_model=model)
    events, _ = await read_stream(await post_turn(api, chat, QUESTION))
    assert [e["type"] for e in events][-2:] == ["error", "stream_end"]
    assert events[-2]["code"] == "model_unavailable"
    assert str(path.name) in events[-2]["message"]
    reply = await Message.objects.aget(chat=chat, role="assistant")
    assert reply.status == "error" and reply.error_code == "model_unavailable"
    assert await Message.objects.filter(chat=chat, role="user").acount() == 1


def test_default_weights_are_verified(tmp_path):
    from chat.llm import weights
    from config.weights import sha256_of

    path = weights.default_gguf(tmp_path)
    assert path.stat().st_size == weights.DEFAULT_GGUF_SIZE
    assert sha256_of(path) == weights.DEFAULT_GGUF_SHA256
    # A damaged cached copy is rebuilt from the packages, not loaded.
    with open(path, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff" * 16)
    assert sha256_of(weights.default_gguf(tmp_path)) == weights.DEFAULT_GGUF_SHA256


async def test_local_model_calls_the_calculator_through_its_own_template(api, local_chat, local_model):
    await ChatModel.objects.filter(pk=local_model.pk).aupdate(tools=["calculator"], max_tokens=96, temperature=0)
    events, _ = await read_stream(await post_turn(api, local_chat, "What is 4817 times 2963?"))
    start = next(e for e in events if e["type"] == "tool_start")
    result = next(e for e in events if e["type"] == "tool_result")
    assert start["name"] == "calculator" and "4817" in start["arguments"]["expression"]
    assert result["ok"] is True and result["content"] == "14272771"
    saved = events[-2]["message"]
    assert saved["status"] == "complete" and saved["toolCalls"][0]["content"] == "14272771"
    # No tool-call text leaks into the reply the person reads.
    assert "tool_call" not in saved["content"] and '"name"' not in saved["content"]
