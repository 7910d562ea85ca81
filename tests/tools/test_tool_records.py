"""Tool calls reach every place a reply goes: websocket subscribers, the admin's conversation page, exports."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from chat.domain.export import chats_to_json, chats_to_markdown, export_queryset
from chat.models import ChatInstance
from chat.turns.tooling import cap_output
from tests.support.websocket import receive_until, socket
from tests.tools.conftest import call, turn_events

pytestmark = pytest.mark.django_db(transaction=True)


async def _calculator_turn(api, chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "6*7"})])
    llm.script(tokens=["42."])
    return await turn_events(api, chat, "6*7?")


async def test_tool_events_reach_websocket_subscribers(api, tool_chat, token, llm):
    ws = socket(tool_chat.public_id, token=token)
    assert (await ws.connect())[0]
    await _calculator_turn(api, tool_chat, llm)

    def saved_reply(event):
        return event["type"] == "message_saved" and event["message"]["role"] == "assistant"

    frames = await receive_until(ws, saved_reply)
    types = [e["type"] for e in frames]
    assert "tool_start" in types and "tool_result" in types
    result = next(e for e in frames if e["type"] == "tool_result")
    assert result["content"] == "42" and result["eventId"] > 0
    assert frames[-1]["message"]["toolCalls"][0]["name"] == "calculator"
    await ws.disconnect()


async def test_admin_page_and_exports_show_the_calls(api, tool_chat, llm, admin_client):
    await _calculator_turn(api, tool_chat, llm)
    page = await sync_to_async(admin_client.get)(f"/admin/chat/chatinstance/{tool_chat.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="tool-call"' in html and "calculator · ok ·" in html and "6*7" in html

    def exports():
        chats = export_queryset(ChatInstance.objects.filter(pk=tool_chat.pk))
        return chats_to_json(chats), chats_to_markdown(chats)

    as_json, as_markdown = await sync_to_async(exports)()
    reply = as_json[0]["messages"][-1]
    assert reply["toolCalls"][0]["content"] == "42"
    assert "> Tool `calculator` (ok, " in as_markdown and '`{"expression": "6*7"}` → 42' in as_markdown
    json.dumps(as_json)  # serialisable as it is


def test_results_are_capped_for_the_model_and_say_so():
    assert cap_output("short", 16) == "short"
    capped = cap_output("é" * 20, 16)  # 2 bytes each: cut on a character boundary
    assert capped.startswith("é" * 8) and capped.endswith("[truncated: 24 more bytes]")
