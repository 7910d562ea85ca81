"""Text from outside (the model, its tool calls and their results) is stored on every database: PostgreSQL
refuses NUL in text and JSON, which once left a reply ``streaming`` and its chat busy. And a reply whose save
fails still ends its turn, as an error."""

from __future__ import annotations

import json

import pytest

from chat.models import Message
from chat.turns import run
from tests.tools.conftest import call, turn_events

pytestmark = pytest.mark.django_db(transaction=True)


async def test_nul_from_the_model_and_its_tools_is_stored_and_the_chat_goes_on(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", '{"expression": "2\\u0000+2"}')])
    llm.script(tokens=["Four\x00 ", "it is."])
    events = await turn_events(api, tool_chat)
    assert [e["type"] for e in events][-2:] == ["message_saved", "stream_end"]
    reply = await Message.objects.aget(chat=tool_chat, role="assistant")
    assert (reply.status, reply.content) == ("complete", "Four\ufffd it is.")
    record = reply.tool_calls[0]
    assert "\x00" not in json.dumps(record, ensure_ascii=False)
    assert record["arguments"]["expression"] == "2\ufffd+2" and "\ufffd" in record["content"]
    assert events[-2]["message"]["content"] == reply.content  # the tabs get what is stored
    llm.script(tokens=["Again."])
    events = await turn_events(api, tool_chat, "And again?")  # not 409 chat_busy
    assert events[-1]["finishReason"] == "stop"


async def test_a_reply_whose_save_fails_ends_its_turn_as_an_error(api, chat, llm, monkeypatch):
    # A database that refuses the reply's final write: stood in by a failing first save (the NUL case above
    # is the real one, now stored safely).
    real, calls = run.message_finish, []

    def failing_once(**fields):
        calls.append(fields)
        if len(calls) == 1:
            raise RuntimeError("the database refused the row")
        return real(**fields)

    monkeypatch.setattr(run, "message_finish", failing_once)
    llm.script(tokens=["Lost ", "words."])
    events = await turn_events(api, chat)
    assert [e["type"] for e in events][-2:] == ["error", "stream_end"]
    assert events[-2]["code"] == "save_failed" and events[-1]["finishReason"] == "error"
    reply = await Message.objects.aget(chat=chat, role="assistant")
    assert (reply.status, reply.error_code) == ("error", "save_failed")
    llm.script(tokens=["Fine."])
    assert (await turn_events(api, chat, "Still there?"))[-1]["finishReason"] == "stop"
