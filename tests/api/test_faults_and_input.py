"""Upstream faults become clear error events with nothing lost; bad input (missing or wrong fields, malformed or
deeply nested JSON, NUL characters, a body too large, refused before it is read) gets a clear 4xx and saves
nothing."""

from __future__ import annotations

import socket

import pytest

from chat.models import ChatInstance, ChatModel, Message
from tests.conftest import post_turn, read_stream
from tests.support.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "status:401": ("upstream_auth", "credentials"),
    "status:404": ("upstream_model_not_found", "model"),
    "status:429": ("upstream_rate_limited", "rate limiting"),
    "status:500": ("upstream_server_error", "internal error"),
    "status:503": ("upstream_server_error", "internal error"),
    "reset": ("upstream_disconnected", "closed the connection"),
    "malformed": ("upstream_bad_response", "could not understand"),
    "stall_first": ("upstream_timeout", "sent nothing"),
    "stall_mid": ("upstream_timeout", "sent nothing"),
    "no_done": ("upstream_disconnected", "closed the connection"),
}


def script_fault(llm, fault: str) -> None:
    if fault == "stall_first":
        llm.script(first_delay=30)
    else:
        llm.script(tokens=["a", "b", "c", "d"], fault=fault)


@pytest.mark.parametrize("fault", FAULTS)
async def test_upstream_fault_is_an_error_event_and_nothing_is_lost(api, chat, llm, fault, settings):
    settings.LLM_READ_TIMEOUT = 0.5
    script_fault(llm, fault)
    events, _ = await read_stream(await post_turn(api, chat, "Will this work?"))
    code, words = FAULTS[fault]
    assert [e["type"] for e in events][-2:] == ["error", "stream_end"]
    error = events[-2]
    assert error["code"] == code and words in error["message"]
    assert events[-1]["finishReason"] == "error"

    user_msg, reply = [m async for m in Message.objects.filter(chat=chat).order_by("seq")]
    assert user_msg.content == "Will this work?" and user_msg.status == "complete"
    assert reply.status == "error" and reply.error_code == code
    if fault in {"reset", "malformed", "stall_mid"}:
        assert reply.content == "ab"  # What arrived before the fault is kept.

    # The next turn works, and it does not send the failed reply as history.
    events, _ = await read_stream(await post_turn(api, chat, "Again?"))
    assert events[-1]["finishReason"] == "stop"
    assert [m["content"] for m in llm.chat_requests[-1].body["messages"] if m["role"] == "user"] == [
        "Will this work?",
        "Again?",
    ]


async def test_connection_refused(api, user, llm):
    dead = await ChatModel.objects.acreate(name="dead", base_url=f"http://127.0.0.1:{free_port()}/v1")
    chat = await ChatInstance.objects.acreate(owner=user, chat_model=dead)
    events, _ = await read_stream(await post_turn(api, chat))
    assert events[-2]["code"] == "upstream_unavailable"
    assert "Could not reach the model server" in events[-2]["message"]
    assert await Message.objects.filter(chat=chat, role="user").acount() == 1


@pytest.mark.parametrize("status", [401, 404])
async def test_operator_advice_goes_to_the_log_and_the_admin_not_to_the_person(api, chat, llm, status, caplog):
    llm.script(fault=f"status:{status}")
    events, _ = await read_stream(await post_turn(api, chat))
    shown = events[-2]["message"]
    assert "admin" not in shown.lower() and "check" not in shown.lower()
    reply = await Message.objects.aget(chat=chat, role="assistant")
    assert reply.error_detail.startswith(shown) and "in the admin" in reply.error_detail  # the review desk shows it
    assert "in the admin" in caplog.text
    saved = (await api.get(f"/api/chats/{chat.public_id}/messages")).json()["messages"][-1]
    assert saved["error"]["message"] == shown


async def test_json_fallback_reports_upstream_error(api, chat, llm):
    llm.script(fault="status:500")
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    response = await api.post("/api/chat", body, content_type="application/json")
    assert response.status_code == 502
    data = response.json()
    assert data["error"]["code"] == "upstream_server_error"
    assert data["userMessage"]["content"] == "hi"
    assert data["assistantMessage"]["status"] == "error"


@pytest.mark.parametrize(("fault", "status"), [("status:429", 429), ("status:401", 502)])
async def test_json_fallback_status_follows_the_upstream_error(api, chat, llm, fault, status):
    llm.script(fault=fault)
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    response = await api.post("/api/chat", body, content_type="application/json")
    assert response.status_code == status  # a rate-limited upstream is a 429, as on /v1


def turn_body(chat, **changes):
    body = {"message": "hello", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"message": None}, 400, "missing_field"),
        ({"message": "   "}, 400, "empty_message"),
        ({"message": 42}, 400, "invalid_field"),
        ({"message": "x" * 101}, 400, "message_too_long"),
        ({"chatInstanceId": None}, 400, "missing_field"),
        ({"chatInstanceId": "ci_doesnotexist"}, 404, "chat_not_found"),
        ({"chatModelId": "cm_doesnotexist"}, 404, "model_not_found"),
        ({"includeTokens": "maybe"}, 400, "invalid_field"),
    ],
)
async def test_bad_input_is_a_clear_4xx_and_saves_nothing(api, chat, llm, settings, changes, status, code):
    settings.CHAT_MAX_MESSAGE_CHARS = 100
    response = await api.post("/api/chat?stream=true", turn_body(chat, **changes), content_type="application/json")
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and len(error["message"]) > 10
    assert await Message.objects.acount() == 0 and llm.chat_requests == []


async def test_malformed_json(api, chat, llm):
    response = await api.post("/api/chat", b"{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = await api.post("/api/chat", b"[1, 2]", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.json()["error"]["message"]
    assert await Message.objects.acount() == 0


async def test_deeply_nested_json_is_a_400(api, chat):
    deep = b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path in ("/api/chat?stream=true", "/v1/chat/completions", "/api/chats"):
        response = await api.post(path, deep, content_type="application/json")
        assert response.status_code == 400, path
        assert "nested too deeply" in response.json()["error"]["message"]


def test_an_oversized_json_body_is_refused_before_it_is_read(uvicorn_server, token):
    """50 MB announced by Content-Length: a JSON 413 comes back while the body has not been sent."""
    for path in ("/api/chat", "/v1/chat/completions"):
        with socket.create_connection(("127.0.0.1", uvicorn_server.port), timeout=5) as conn:
            conn.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {50_000_000}\r\n\r\n{{".encode()
            )
            response = b""
            while chunk := conn.recv(4096):
                response += chunk
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), path
        assert b"application/json" in head and b"too large" in body


async def test_inactive_model_is_refused(api, chat, llm):
    await ChatModel.objects.filter(pk=chat.chat_model_id).aupdate(is_active=False)
    response = await post_turn(api, chat)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    assert await Message.objects.acount() == 0


def test_event_stream_keeps_the_chunks_before_a_bad_line_in_the_same_read():
    from chat.llm.errors import UpstreamProtocolError
    from chat.llm.openai import _EventStream

    events, received = _EventStream(), []
    good = b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n'
    with pytest.raises(UpstreamProtocolError):
        for chunk in events.feed(good % b"a" + good % b"b" + b"data: {this is not json\n\n"):
            received.append(chunk.content)
    assert received == ["a", "b"]
    pieces = [b'data: {"choices":[{"delta":{"content":"c"},', b'"finish_reason":"stop"}]}\n', b"\ndata: [DONE]"]
    events = _EventStream()
    assert [c.content for p in pieces for c in events.feed(p)] == ["c"]
    assert events.finished and not events.done and list(events.feed(b"\n")) == [] and events.done


@pytest.mark.parametrize("field", ["chatModelId", "chatInstanceId", "message"])
async def test_nul_characters_are_a_400_on_every_database(api, chat, field):
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    body[field] = "a\x00b"
    response = await api.post("/api/chat", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_field"


@pytest.mark.parametrize("where", ["model", "session_id", "content", "content_part"])
async def test_nul_characters_are_a_400_on_the_openai_api(api, chat, where):
    message = {"role": "user", "content": "hi"}
    body = {"model": chat.chat_model.public_id, "messages": [message], "session_id": "s1"}
    if where in ("model", "session_id"):
        body[where] = "a\x00b"
    else:
        message["content"] = "a\x00b" if where == "content" else [{"type": "text", "text": "a\x00b"}]
    response = await api.post("/v1/chat/completions", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_value" and "NUL" in response.json()["error"]["message"]
    assert await Message.objects.acount() == 0


async def test_a_title_with_nul_is_a_400(api, chat):
    response = await api.patch(f"/api/chats/{chat.public_id}", {"title": "a\x00b"}, content_type="application/json")
    assert response.status_code == 400 and "NUL" in response.json()["error"]["message"]


def test_the_turns_chat_lookup_reads_what_the_orm_reads(chat, other_user):
    from chat.domain.selectors import chat_for_turn, chat_get
    from chat.exceptions import NotFound

    chat.chat_model.system_prompt, chat.chat_model.temperature = "Be brief.", 0.3
    chat.chat_model.save()
    plain = chat_for_turn(user=chat.owner, chat_id=chat.public_id)
    orm = chat_get(user=chat.owner, chat_id=chat.public_id)
    for field in ChatInstance._meta.concrete_fields:
        assert getattr(plain, field.attname) == getattr(orm, field.attname), field.name
    for field in ChatModel._meta.concrete_fields:
        assert getattr(plain.chat_model, field.attname) == getattr(orm.chat_model, field.attname), field.name
    assert plain.chat_model.is_active is True and plain.created_at.tzinfo is not None
    with pytest.raises(NotFound):
        chat_for_turn(user=other_user, chat_id=chat.public_id)


async def test_a_turn_without_a_model_id_uses_the_chats_own_model(api, chat, llm):
    """A composer used before the page had the model list sends none: the chat's model answers."""
    response = await api.post(
        "/api/chat?stream=true", turn_body(chat, chatModelId=None), content_type="application/json"
    )
    events, _ = await read_stream(response)
    assert events[0]["model"] == chat.chat_model.public_id and events[-1]["finishReason"] == "stop"
