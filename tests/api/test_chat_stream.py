"""POST /api/chat: the streamed turn, its JSON fallback, history, retries and overlaps."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from chat.models import Message
from tests.conftest import parse_sse, post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = ["stream_start", "status", "token", "agent_response", "message_saved", "stream_end"]


def collapse(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


async def test_stream_event_order_and_content(api, chat, llm):
    llm.script(tokens=["The ", "capital ", "is ", "Paris."], delay=0.01)
    response = await post_turn(api, chat, "Capital of France?")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    events, pieces = await read_stream(response)

    assert collapse([e["type"] for e in events]) == ORDER
    # Each written piece is whole events, so a reader without a buffer never sees half a JSON document.
    for piece in pieces:
        assert piece.endswith(b"\n\n") and parse_sse(piece)
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))

    start, saved, end = events[0], events[-2], events[-1]
    joined = "".join(e["content"] for e in events if e["type"] == "token")
    agent = next(e for e in events if e["type"] == "agent_response")
    assert joined == agent["content"] == "The capital is Paris."
    assert start["chatInstanceId"] == chat.public_id
    assert start["assistantMessageId"] == agent["messageId"] == saved["message"]["id"]
    assert start["model"] == chat.chat_model.public_id
    assert saved["message"]["status"] == "complete" and saved["message"]["seq"] == 2
    assert end == {"type": "stream_end", "finishReason": "stop", "usage": end["usage"], "eventId": end["eventId"]}
    assert end["usage"]["completionTokens"] == 4

    user_msg, reply = [m async for m in Message.objects.filter(chat=chat).order_by("seq")]
    assert (user_msg.seq, user_msg.role, user_msg.content) == (1, "user", "Capital of France?")
    assert user_msg.public_id == start["userMessage"]["id"] and start["userMessage"]["seq"] == 1
    assert (reply.content, reply.status, reply.finish_reason) == ("The capital is Paris.", "complete", "stop")
    assert reply.completion_tokens == 4 and reply.prompt_tokens == 7
    assert reply.ttft_ms is not None and reply.duration_ms >= reply.ttft_ms

    upstream = llm.chat_requests[-1].body
    assert upstream["stream"] is True and upstream["stream_options"] == {"include_usage": True}
    assert upstream["model"] == "test-upstream" and upstream["temperature"] == 0.3 and upstream["max_tokens"] == 256
    assert upstream["messages"] == [
        {"role": "system", "content": "You are a test assistant."},
        {"role": "user", "content": "Capital of France?"},
    ]


async def test_include_tokens_false_sends_no_tokens(api, chat, llm):
    response = await post_turn(api, chat, includeTokens=False)
    events, _ = await read_stream(response)
    types = [e["type"] for e in events]
    assert "token" not in types
    assert types == ["stream_start", "status", "agent_response", "message_saved", "stream_end"]
    assert events[2]["content"] == "Hello, world!"


async def test_stream_flag_in_body_and_query(api, chat, llm):
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    response = await api.post("/api/chat", {**body, "stream": True}, content_type="application/json")
    assert response["Content-Type"].startswith("text/event-stream")
    await read_stream(response)


async def test_json_fallback(api, chat, llm):
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    response = await api.post("/api/chat", body, content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["userMessage"]["content"] == "hi" and data["userMessage"]["seq"] == 1
    assert data["assistantMessage"]["content"] == "Hello, world!"
    assert data["assistantMessage"]["status"] == "complete"
    assert data["assistantMessage"]["usage"] == {"promptTokens": 7, "completionTokens": 4, "totalTokens": 11}


async def test_second_turn_sends_history(api, chat, llm):
    llm.script(tokens=["Paris."])
    await read_stream(await post_turn(api, chat, "Capital of France?"))
    llm.script(tokens=["About 2 million."])
    events, _ = await read_stream(await post_turn(api, chat, "And its population?"))
    assert events[0]["userMessage"]["seq"] == 3
    assert llm.chat_requests[-1].body["messages"] == [
        {"role": "system", "content": "You are a test assistant."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And its population?"},
    ]


async def test_client_message_id_replays_without_calling_upstream(api, chat, llm):
    llm.script(tokens=["Once", " only"])
    first, _ = await read_stream(await post_turn(api, chat, "hello", clientMessageId="c-1"))
    again, _ = await read_stream(await post_turn(api, chat, "hello", clientMessageId="c-1"))
    assert len(llm.chat_requests) == 1
    assert again[0]["userMessage"] == first[0]["userMessage"]
    assert again[0]["assistantMessageId"] == first[0]["assistantMessageId"]
    agent = [e for e in again if e["type"] == "agent_response"][0]
    assert agent["content"] == "Once only"
    assert "".join(e["content"] for e in again if e["type"] == "token") == "Once only"
    assert await Message.objects.filter(chat=chat).acount() == 2


async def test_overlapping_turn_is_409(api, chat, llm):
    llm.script(tokens=["slow"] * 20, delay=0.05)
    first = await post_turn(api, chat, "first")
    reader = asyncio.ensure_future(read_stream(first))
    await asyncio.sleep(0.2)
    second = await post_turn(api, chat, "second")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "chat_busy"
    assert "still answering" in second.json()["error"]["message"]
    await reader
    assert await Message.objects.filter(chat=chat).acount() == 2
    third = await post_turn(api, chat, "third")
    assert third.status_code == 200
    await read_stream(third)


async def test_reasoning_streams_as_thinking(api, chat, llm):
    llm.script(reasoning=["Let me ", "think."], tokens=["42"])
    events, _ = await read_stream(await post_turn(api, chat))
    thinking = [e["content"] for e in events if e["type"] == "thinking"]
    assert thinking == ["Let me ", "think."]
    saved = [e for e in events if e["type"] == "message_saved"][0]["message"]
    assert saved["reasoning"] == "Let me think." and saved["content"] == "42"


async def test_stop_endpoint_interrupts_the_reply(api, chat, llm):
    llm.script(tokens=[f"w{i} " for i in range(100)], delay=0.02)
    response = await post_turn(api, chat)
    reader = asyncio.ensure_future(read_stream(response))
    await asyncio.sleep(0.3)
    stop = await api.post(f"/api/chats/{chat.public_id}/stop")
    assert stop.status_code == 200 and stop.json()["stopped"] is True
    events, _ = await reader
    assert events[-1]["type"] == "stream_end" and events[-1]["finishReason"] == "stopped"
    saved = [e for e in events if e["type"] == "message_saved"][0]["message"]
    assert saved["status"] == "interrupted"
    tokens = "".join(e["content"] for e in events if e["type"] == "token")
    assert tokens and saved["content"] == tokens and len(tokens) < len("".join(f"w{i} " for i in range(100)))
    assert stop.json()["message"]["status"] == "interrupted"
    assert llm.wait_for(lambda: llm.chat_requests[-1].closed_by_client_at is not None)
    assert (await post_turn(api, chat)).status_code == 200


async def test_stop_with_nothing_running(api, chat):
    response = await api.post(f"/api/chats/{chat.public_id}/stop")
    assert response.status_code == 200 and response.json() == {"stopped": False, "message": None}


async def test_client_disconnect_saves_interrupted(daphne_server, token, chat, llm):
    """A real client hangs up mid-reply: the partial reply is saved and the upstream connection closed."""
    llm.script(tokens=[f"t{i} " for i in range(300)], delay=0.01)
    body = json.dumps({"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id})
    reader, writer = await asyncio.open_connection("127.0.0.1", daphne_server.port)
    writer.write(
        f"POST /api/chat?stream=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    received = b""
    while received.count(b'"type":"token"') < 5:
        received += await reader.read(4096)
    writer.transport.abort()
    closed_at = time.monotonic()

    reply = None
    for _ in range(100):
        reply = await Message.objects.filter(chat=chat, role="assistant").afirst()
        if reply.status != "streaming":
            break
        await asyncio.sleep(0.05)
    assert reply.status == "interrupted" and reply.finish_reason == "client_disconnected"
    assert reply.content.startswith("t0 t1 t2 t3 t4 ")
    assert llm.wait_for(lambda: llm.chat_requests[-1].closed_by_client_at is not None)
    seen = llm.chat_requests[-1]
    assert seen.tokens_sent < 300 and not seen.completed
    # The upstream saw the close within a few token intervals of the client hanging up.
    assert seen.closed_by_client_at - closed_at < 0.5


async def test_heartbeat_comment_during_a_long_silence(api, chat, llm, settings):
    settings.CHAT_HEARTBEAT_SECONDS = 0.1
    llm.script(tokens=["late"], first_delay=0.5)
    events, pieces = await read_stream(await post_turn(api, chat))
    assert b": keep-alive\n\n" in pieces
    assert events[-1]["type"] == "stream_end"
    assert "".join(e["content"] for e in events if e["type"] == "token") == "late"
