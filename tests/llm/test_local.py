"""The embedded local model (llama.cpp with the default Qwen2.5 GGUF), through the same /api/chat turn."""

from __future__ import annotations

import asyncio
import json

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


CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo"}


async def timed_stream(response) -> tuple[list[dict], float, float]:
    """The events of a streamed turn, when its first token came and when it ended (loop time)."""
    loop, pieces, first = asyncio.get_running_loop(), [], None
    async for piece in response.streaming_content:
        pieces.append(piece)
        if first is None and b'"type":"token"' in piece:
            first = loop.time()
    return parse_sse(b"".join(pieces)), first or loop.time(), loop.time()


async def test_four_people_are_answered_together(api, user, local_model):
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=local_model) for _ in CAPITALS]
    questions = [f"What is the capital of {country}? Answer in one sentence." for country in CAPITALS]
    responses = await asyncio.gather(*(post_turn(api, c, q) for c, q in zip(chats, questions, strict=True)))
    results = await asyncio.gather(*(timed_stream(r) for r in responses))
    for (events, _, _), capital in zip(results, CAPITALS.values(), strict=True):
        assert capital in events[-3]["content"], events[-3]["content"]
        assert events[-2]["message"]["status"] == "complete" and events[-1]["finishReason"] == "stop"
        assert not [e for e in events if e["type"] == "status" and "waiting" in e["message"]]  # a slot each
        assert events[-2]["message"]["usage"]["promptTokens"] > 10
    # Batched, not queued: every reply had begun before any of them ended.
    assert max(first for _, first, _ in results) < min(end for _, _, end in results)


async def test_stopping_one_reply_leaves_the_others_running(api, user, local_model):
    await ChatModel.objects.filter(pk=local_model.pk).aupdate(max_tokens=40)
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=local_model) for _ in range(3)]
    # A reply far longer than 40 tokens: each one left running must end at its max_tokens ("length").
    responses = [await post_turn(api, c, "Count from 1 to 300, one number per line.") for c in chats]
    stopped = aiter(responses[0].streaming_content)
    pieces = []
    async for piece in stopped:
        pieces.append(piece)
        if b'"type":"token"' in piece:
            break
    assert (await api.post(f"/api/chats/{chats[0].public_id}/stop")).json()["stopped"] is True
    pieces += [piece async for piece in stopped]
    assert parse_sse(b"".join(pieces))[-1]["finishReason"] == "stopped"
    for events, _ in await asyncio.gather(*(read_stream(r) for r in responses[1:])):
        assert events[-1]["finishReason"] == "length" and events[-2]["message"]["usage"]["completionTokens"] == 40
    replies = [await Message.objects.aget(chat=c, role="assistant") for c in chats]
    assert [r.status for r in replies] == ["interrupted", "complete", "complete"]


async def test_a_reply_beyond_the_slots_waits_and_says_so(settings):
    """One slot, two requests: the second is told it waits, and is answered once the first is done."""
    from chat.llm.base import LLMRequest, ProviderConfig
    from chat.llm.local import LocalProvider
    from chat.turns.upstream import local_model_path

    path = local_model_path()
    config = ProviderConfig(model_path=path, context=2048, threads=settings.LOCAL_LLM_THREADS, parallel=1)
    provider = LocalProvider(path, config)
    await provider.aload()

    async def ask(country: str) -> list:
        messages = [{"role": "user", "content": f"What is the capital of {country}? Answer in one sentence."}]
        return [chunk async for chunk in provider.stream(LLMRequest(messages=messages, model="local", temperature=0))]

    first = asyncio.create_task(ask("France"))
    await asyncio.sleep(0.05)
    second = await ask("Italy")
    first_chunks = await first
    assert "Paris" in "".join(c.content for c in first_chunks)
    assert second[0].status == "waiting for the model…" and "Rome" in "".join(c.content for c in second)
    assert second[-1].finish_reason == "stop" and second[-1].usage.completion_tokens > 0


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
    from chat.llm import local_weights as weights
    from config.packaged_weights import sha256_of

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


def searched(n: int, query: str, found: str) -> list[dict]:
    call = {"id": f"call_{n}", "type": "function",
            "function": {"name": "search_conversations", "arguments": json.dumps({"query": query})}}  # fmt: skip
    return [{"role": "assistant", "content": "", "tool_calls": [call]}, {"role": "tool", "tool_call_id": f"call_{n}",
            "content": found}]  # fmt: skip


# "Search my chats for France" after two searches, as the bundled model's turn had it.
SEARCHED = [
    {"role": "system", "content": "You are a helpful assistant. Answer clearly and concisely."},
    {"role": "user", "content": "Search my chats for France"},
    *searched(1, "France", "- [Search my chats for France, 2026-12-02, user] Search my chats for «France»"),
    *searched(2, "France, 2026-12-02, user", "No messages match."),
]


async def test_a_local_model_writing_the_same_call_over_and_over_is_stopped(settings):
    """Issue #27: given these messages, the bundled model wrote its last call again, line after line, until
    max_tokens (1,024 tokens, a minute on 2 cores), and all of it, cut off mid-call, was shown as its answer."""
    from chat.llm.base import LLMRequest, ProviderConfig
    from chat.llm.local import LocalProvider
    from chat.tools.builtin import BUILTIN
    from chat.turns.upstream import local_model_path

    path = local_model_path()
    provider = LocalProvider(path, ProviderConfig(model_path=path, context=4096, threads=settings.LOCAL_LLM_THREADS))
    tools = [BUILTIN[name].as_openai() for name in ("calculator", "search_conversations")]

    async def ask(tools: list | None) -> list:
        request = LLMRequest(messages=SEARCHED, model="local", temperature=0, max_tokens=1024, tools=tools)
        return [chunk async for chunk in provider.stream(request)]

    chunks = await ask(tools)
    assert "".join(c.content for c in chunks) == ""
    calls = [delta for chunk in chunks for delta in chunk.tool_calls or ()]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("search_conversations", {"query": "France, 2026-12-02, user"})
    ]
    assert chunks[-1].finish_reason == "tool_calls" and chunks[-1].usage.completion_tokens < 100
    # Tools withdrawn (the turn's last round): the call it writes anyway is neither shown nor returned, and the
    # reply ends with it.
    chunks = await ask(None)
    assert "".join(c.content for c in chunks) == "" and not any(c.tool_calls for c in chunks)
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage.completion_tokens < 100
