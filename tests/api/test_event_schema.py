"""Every event type, as each door renders it, has exactly the fields the README's event table documents.

In the spirit of Zulip's ``zerver/lib/event_schema.py``: the README is the schema, and this test holds the
POST stream's SSE blocks, the GET stream's blocks and the websocket frames to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chat.http.sse import render_event
from chat.realtime.frames import WEBSOCKET_SKIPS, sse_block, websocket_frames
from chat.turns import events as ev
from chat.turns.events import logged

README = Path(__file__).resolve().parents[2] / "README.md"

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


def documented() -> dict[str, set[str]]:
    """The README's event table: event type -> its fields (backticked names outside parentheses)."""
    text = README.read_text()
    table = text[text.index("| Event | Fields |") :].split("\n\n", 1)[0]
    fields = {}
    for row in table.splitlines()[2:]:
        name, cell = (part.strip() for part in row.strip("|").split("|", 1))
        fields[name.strip("`")] = set(re.findall(r"`(\w+)", re.sub(r"\([^)]*\)", "", cell)))
    return fields


def all_event_types() -> set[str]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {cls.type for cls in subclasses(ev.Event)} - {"heartbeat"}


def test_the_readme_documents_every_event_type_and_the_samples_cover_them():
    assert set(documented()) == all_event_types() == {event.type for event in SAMPLES}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_door_sends_the_documented_fields(event):
    fields = documented()[event.type] | {"type", "eventId"}
    post = json.loads(render_event(event, 7).decode().removeprefix("data: "))
    assert set(post) == fields
    lines = sse_block(logged(event, 7), 4).decode().splitlines()
    assert lines[0] == "id: 4:7" and lines[1].startswith("data: ")
    assert json.loads(lines[1][6:]) == post  # the GET stream: the same JSON as the POST stream
    frames = websocket_frames([logged(event, 7)], after=6)
    if event.type in WEBSOCKET_SKIPS:
        assert frames == []
    else:
        assert frames == [{**post, "fromEventId": 7}]  # the websocket: the same, with the range it covers


def test_websocket_token_frames_join_tokens_and_cover_skipped_events():
    turn = [ev.StreamStart("c", "m", 1, "r", "cm"), ev.Token("a"), ev.Token("b"), ev.AgentResponse("r", "ab"),
            ev.MessageSaved({}), ev.StreamEnd("stop")]  # fmt: skip
    events = [logged(e, i) for i, e in enumerate(turn, start=1)]
    frames = websocket_frames(events, after=0)
    assert [(f["type"], f["fromEventId"], f["eventId"]) for f in frames] == [
        ("stream_start", 1, 1), ("token", 2, 3), ("stream_end", 4, 6)]  # fmt: skip
    assert frames[1]["content"] == "ab"
    assert events[1] == {"type": "token", "content": "a", "eventId": 2}  # the logged events are left as they were
