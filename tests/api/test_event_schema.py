"""Every door sends each event type with exactly the fields, and JSON types, of the events' schema in code.

``chat/turns/schema.py`` is the schema, in the manner of Zulip's ``zerver/lib/event_schema.py``: these tests
hold the POST stream's SSE blocks, the GET stream's blocks, websocket frames and the OpenAI chunks to it, with
a sample of every event type and with a real turn; and docs/api.md's event table to what the schema writes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from chat.http.openai_format import FINISH_REASONS, ChunkRenderer
from chat.http.sse import render_event, render_event_without_tokens
from chat.management.commands.event_docs import BEGIN, END, api_doc, with_table
from chat.realtime.frames import WEBSOCKET_SKIPS, encode_frames, sse_block, websocket_frames
from chat.turns import events as ev
from chat.turns import schema
from chat.turns.events import logged
from tests.conftest import post_turn, read_stream

SAMPLES = [
    ev.Transcription("what is the weather", "en", 2400, "msg_1"),
    ev.StreamStart("ci_1", "msg_1", 1, "msg_2", "cm_1"),
    ev.Status("thinking…"),
    ev.Thinking("hmm"),
    ev.Token("Hi"),
    ev.ToolStart("call_1", "calculator", {"expression": "2+2"}, "Calculating…"),
    ev.ToolResult("call_1", "calculator", True, "4", 3),
    ev.ExecutionProgress(1, 2),
    ev.ClarificationNeeded("Which one?", ["A", "B"]),
    ev.ToolCallDelta(0, "call_1", "calculator", '{"expression"'),
    ev.Speech("msg_2", 0, "Hi.", "audio/ogg; codecs=opus", "T2dnUw=="),
    ev.AgentResponse("msg_2", "Hi"),
    ev.MessageSaved({"id": "msg_2"}),
    ev.StreamEnd("stop", {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2}),
    ev.Error("upstream_error", "The model server failed to answer."),
]
# The other values the schema allows: a later piece of a client tool call, a turn without usage.
MORE_SAMPLES = [ev.ToolCallDelta(0, None, None, ': "2+2"}'), ev.StreamEnd("stopped")]


def all_event_types() -> set[str]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {cls.type for cls in subclasses(ev.Event)} - {"heartbeat"}


def posted(event: ev.Event, event_id: int = 7) -> dict[str, Any]:
    """The event as the POST response's SSE block carries it."""
    block = render_event(event, event_id).decode()
    assert block.startswith("data: ") and block.endswith("\n\n") and block.count("\n") == 2
    return json.loads(block.removeprefix("data: "))


def test_the_schema_covers_every_event_type_and_the_samples_cover_them():
    assert set(schema.EVENTS) == all_event_types() == {event.type for event in SAMPLES}


@pytest.mark.parametrize("event", SAMPLES + MORE_SAMPLES, ids=lambda e: e.type)
def test_every_door_sends_the_schemas_fields(event):
    post = posted(event)
    assert schema.problems(post) == []
    if event.type == "token":
        assert render_event_without_tokens(event, 7) is None
    else:
        assert render_event_without_tokens(event, 7) == render_event(event, 7)
    # The GET stream: the same JSON as the POST stream, after the event's cursor.
    lines = sse_block(logged(event, 7), 4).decode().splitlines()
    assert lines[0] == "id: 4:7" and lines[1].startswith("data: ")
    assert json.loads(lines[1][6:]) == post
    assert schema.problems(json.loads(lines[1][6:]), schema.EVENT_STREAM_ENVELOPE) == []
    # The websocket: the same, with the range it covers, encoded once for every tab.
    frames = websocket_frames([logged(event, 7)], after=6)
    if event.type in WEBSOCKET_SKIPS:
        assert frames == [] and encode_frames([logged(event, 7)], after=6) == []
    else:
        assert frames == [{**post, "fromEventId": 7}]
        assert schema.problems(frames[0], schema.FRAME_ENVELOPE) == []
        assert [json.loads(text) for _, _, text in encode_frames([logged(event, 7)], after=6)] == frames


def test_websocket_token_frames_join_tokens_and_cover_skipped_events():
    turn = [ev.StreamStart("c", "m", 1, "r", "cm"), ev.Token("a"), ev.Token("b"), ev.AgentResponse("r", "ab"),
            ev.MessageSaved({}), ev.StreamEnd("stop")]  # fmt: skip
    events = [logged(e, i) for i, e in enumerate(turn, start=1)]
    frames = websocket_frames(events, after=0)
    assert [(f["type"], f["fromEventId"], f["eventId"]) for f in frames] == [
        ("stream_start", 1, 1), ("token", 2, 3), ("stream_end", 4, 6)]  # fmt: skip
    assert frames[1]["content"] == "ab"
    assert all(schema.problems(frame, schema.FRAME_ENVELOPE) == [] for frame in frames)
    assert events[1] == {"type": "token", "content": "a", "eventId": 2}  # the logged events are left as they were


def test_the_schema_check_finds_what_is_wrong():
    """The check these tests rely on can fail: unknown types, missing, extra and mistyped fields."""
    good = posted(ev.StreamStart("ci_1", "msg_1", 1, "msg_2", "cm_1"))
    assert schema.problems(good) == []
    assert schema.problems({**good, "type": "stream_begin"}) == ["unknown event type 'stream_begin'"]
    assert schema.problems({k: v for k, v in good.items() if k != "model"}) == ["stream_start.model is missing"]
    assert schema.problems({**good, "extra": 1}) == ["stream_start.extra is not in the schema"]
    assert schema.problems({**good, "eventId": "7"}) == ["stream_start.eventId is str, not integer"]
    assert schema.problems({**good, "eventId": True}) == ["stream_start.eventId is bool, not integer"]
    assert schema.problems({**good, "userMessage": {"id": "msg_1", "seq": None}}) == [
        "stream_start.userMessage.seq is null"]  # fmt: skip
    assert schema.problems(good, schema.FRAME_ENVELOPE) == ["stream_start.fromEventId is missing"]
    assert schema.problems(posted(ev.ClarificationNeeded("?", [1])))  # type: ignore[list-item]
    assert schema.problems(posted(ev.StreamEnd("stop", {"promptTokens": 1}))) == [
        "stream_end.usage.completionTokens is missing", "stream_end.usage.totalTokens is missing"]  # fmt: skip


# What the OpenAI door makes of each event type, from the fields the schema gives it; the others it leaves out.
def openai_expected(event: ev.Event) -> list[dict[str, Any]] | None:
    wire = posted(event)
    kind = wire["type"]
    if kind == "token":
        return [{"delta": {"content": wire["content"]}, "finish_reason": None}]
    if kind == "thinking":
        return [{"delta": {"reasoning_content": wire["content"]}, "finish_reason": None}]
    if kind == "stream_start":
        return [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    if kind == "tool_call_delta":
        call = {"index": wire["index"], "function": {"arguments": wire["arguments"]}}
        if wire["toolCallId"]:
            call.update(id=wire["toolCallId"], type="function")
        if wire["name"]:
            call["function"]["name"] = wire["name"]
        return [{"delta": {"tool_calls": [call]}, "finish_reason": None}]
    if kind == "stream_end":
        usage = wire["usage"] and {"prompt_tokens": wire["usage"]["promptTokens"],
                                   "completion_tokens": wire["usage"]["completionTokens"],
                                   "total_tokens": wire["usage"]["totalTokens"]}  # fmt: skip
        return [{"delta": {}, "finish_reason": FINISH_REASONS[wire["finishReason"]]}, {"usage": usage}]
    if kind == "error":
        return [{"error": {"code": wire["code"], "message": wire["message"]}}]
    return None


@pytest.mark.parametrize("event", SAMPLES + MORE_SAMPLES, ids=lambda e: e.type)
def test_the_openai_door_renders_each_event_from_the_schemas_fields(event):
    rendered = ChunkRenderer("chatcmpl-1", "cm_1", include_usage=True)(event, 7)
    expected = openai_expected(event)
    if expected is None:
        assert rendered is None
        return
    blocks = rendered.decode().split("\n\n")
    assert blocks[-1] == "" and all(block.startswith("data: ") for block in blocks[:-1])
    chunks = [json.loads(block[6:]) for block in blocks[:-1] if block != "data: [DONE]"]
    assert ("data: [DONE]" in blocks) == (event.type in {"stream_end", "error"})
    assert len(chunks) == len(expected)
    for chunk, want in zip(chunks, expected, strict=True):
        if "error" in want:
            assert {k: chunk["error"][k] for k in ("code", "message")} == want["error"]
        elif "usage" in want:
            assert chunk["object"] == "chat.completion.chunk" and chunk["choices"] == []
            assert chunk["usage"] == want["usage"]
        else:
            assert chunk["object"] == "chat.completion.chunk" and chunk["model"] == "cm_1"
            (choice,) = chunk["choices"]
            assert {"delta": choice["delta"], "finish_reason": choice["finish_reason"]} == want


def test_the_committed_event_table_is_the_one_the_schema_writes():
    text = api_doc().read_text()
    assert text.count(BEGIN) == text.count(END) == 1
    assert with_table(text) == text, "docs/api.md's event table is stale: run manage.py event_docs"
    for event_type in schema.EVENTS:
        assert f"| `{event_type}` |" in text


@pytest.mark.django_db(transaction=True)
async def test_a_real_turn_at_every_door_follows_the_schema(api, chat, token, llm):
    """A turn with tool calls, as the POST stream, a websocket tab and the GET stream send it."""
    from config.asgi import application

    chat.chat_model.tools = ["calculator"]
    await chat.chat_model.asave()
    calls = [{"id": f"call_{i}", "name": "calculator", "arguments": json.dumps({"expression": f"{i}+{i}"})}
             for i in (1, 2)]  # fmt: skip
    llm.script(tokens=[], tool_calls=calls)
    llm.script(tokens=["It ", "is ", "2 and 4."], delay=0.01)
    browser = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
    tab = WebsocketCommunicator(application, f"/ws/chats/{chat.public_id}/?token={token}", headers=browser)
    assert (await tab.connect())[0]

    events, _ = await read_stream(await post_turn(api, chat, "What are 1+1 and 2+2?"))
    kinds = {event["type"] for event in events}
    assert {"stream_start", "tool_start", "tool_result", "execution_progress", "token", "stream_end"} <= kinds
    assert [(e["type"], found) for e in events if (found := schema.problems(e))] == []

    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not frames or frames[-1]["type"] != "message_saved" or frames[-1]["message"]["role"] != "assistant":
            frames.append(json.loads(await tab.receive_from(10)))
    await tab.disconnect()
    pushes = [frame for frame in frames if "eventId" not in frame]  # each saved message, with its seq
    assert [frame["type"] for frame in pushes] == ["message_saved", "message_saved"]
    assert all(schema.problems(push, (schema.TYPE,)) == [] for push in pushes)
    turn = [frame for frame in frames if "eventId" in frame]
    assert {frame["type"] for frame in turn} == kinds - WEBSOCKET_SKIPS
    assert [(f["type"], found) for f in turn if (found := schema.problems(f, schema.FRAME_ENVELOPE))] == []

    response = await api.get(f"/api/chats/{chat.public_id}/events?after=0")
    async with asyncio.timeout(10):
        body = b"".join([piece async for piece in response.streaming_content]).decode()
    replayed = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert replayed == events
    assert all(schema.problems(event, schema.EVENT_STREAM_ENVELOPE) == [] for event in replayed)
