"""MCP servers as tools, over both transports, with the real SDK on both sides (tests/support/mcp_server.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from asgiref.sync import sync_to_async

from chat.models import McpServer, Message
from tests.conftest import parse_sse, post_turn
from tests.support.server import free_port
from tests.tools.conftest import call, stdio_server, turn_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http_mcp():
    """The test MCP server over Streamable HTTP, in a process of its own."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.support.mcp_server", "--http", "--port", str(port)])
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield process, url
    process.terminate()
    process.wait(10)


async def _use(chat, server: McpServer):
    model = chat.chat_model
    await model.mcp_servers.aadd(server)


async def test_stdio_tool_is_offered_called_and_streamed(api, chat, llm):
    server = await sync_to_async(stdio_server)()
    await _use(chat, server)
    llm.script(tokens=[], tool_calls=[call("add", {"a": 2, "b": 40})])
    llm.script(tokens=["42."])
    events = await turn_events(api, chat, "2 + 40 with the server?")
    offered = {t["function"]["name"]: t["function"] for t in llm.chat_requests[-2].body["tools"]}
    assert set(offered) == {"add", "shout", "wait", "broken"}
    assert offered["add"]["parameters"]["properties"].keys() == {"a", "b"}
    start = next(e for e in events if e["type"] == "tool_start")
    result = next(e for e in events if e["type"] == "tool_result")
    assert start["label"] == "Using testtools…"
    assert result["ok"] is True and result["content"] == "42"
    saved = events[-2]["message"]
    assert saved["toolCalls"][0]["source"] == "testtools"


async def test_http_tool_and_a_stopped_server_fails_cleanly(api, chat, llm, http_mcp):
    process, url = http_mcp
    server = await McpServer.objects.acreate(name="httptools", transport="http", url=url)
    await _use(chat, server)
    llm.script(tokens=[], tool_calls=[call("shout", {"text": "hello"})])
    llm.script(tokens=["Done."])
    events = await turn_events(api, chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is True and result["content"] == "HELLO"

    # The server goes away: its (known) tool fails with a message; the turn still answers.
    process.terminate()
    process.wait(10)
    llm.script(tokens=[], tool_calls=[call("shout", {"text": "again"})])
    llm.script(tokens=["It is down."])
    events = await turn_events(api, chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is False and "httptools" in result["content"]
    assert events[-2]["message"]["status"] == "complete" and events[-2]["message"]["content"] == "It is down."


async def test_a_tool_error_and_a_server_that_cannot_start(api, chat, llm):
    good = await sync_to_async(stdio_server)()
    dead = await McpServer.objects.acreate(name="nosuch", transport="stdio", command="/nonexistent/mcp-server")
    await _use(chat, good)
    await _use(chat, dead)
    llm.script(tokens=[], tool_calls=[call("broken", {})])
    llm.script(tokens=["Oh."])
    events = await turn_events(api, chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is False and "always fails" in result["content"]
    # The server that cannot start adds no tools and does not fail the turn.
    assert {t["function"]["name"] for t in llm.chat_requests[-2].body["tools"]} == {"add", "shout", "wait", "broken"}


async def test_a_hanging_tool_is_cut_off_at_its_time_limit(api, chat, llm, settings):
    settings.TOOLS_TIMEOUT = 1.0
    server = await sync_to_async(stdio_server)()
    await _use(chat, server)
    llm.script(tokens=[], tool_calls=[call("wait", {"seconds": 30})])
    llm.script(tokens=["Too slow."])
    started = time.monotonic()
    events = await turn_events(api, chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is False and "longer than 1 seconds" in result["content"]
    assert time.monotonic() - started < 15


async def test_stop_during_a_slow_tool_call_saves_the_turn_interrupted(api, chat, llm):
    server = await sync_to_async(stdio_server)()
    await _use(chat, server)
    llm.script(tokens=["Let me wait. "], tool_calls=[call("wait", {"seconds": 15})])
    response = await post_turn(api, chat)
    stream = response.streaming_content
    events = []

    async def read() -> None:
        async for piece in stream:
            events.extend(parse_sse(piece))

    reader = asyncio.ensure_future(read())
    deadline = time.monotonic() + 20
    while not any(e["type"] == "tool_start" for e in events) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stopped = await api.post(f"/api/chats/{chat.public_id}/stop", {}, content_type="application/json")
    assert stopped.status_code == 200
    await asyncio.wait_for(reader, 10)
    assert events[-1]["finishReason"] == "stopped"
    reply = await Message.objects.aget(public_id=events[0]["assistantMessageId"])
    assert reply.status == "interrupted" and reply.content == "Let me wait. "
    assert reply.tool_calls[0]["name"] == "wait" and reply.tool_calls[0]["ok"] is False
    assert "stopped" in reply.tool_calls[0]["content"]


def test_only_those_who_may_change_mcp_servers_may_run_list_tools(user, admin_client):
    """The action runs a stdio server's command: staff who may only view MCP servers must not run it."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    server = stdio_server()
    viewer = type(user).objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_mcpserver"))
    client = Client()
    client.force_login(viewer)
    url = "/admin/chat/mcpserver/"
    assert "list_tools" not in client.get(url).content.decode()
    response = client.post(url, {"action": "list_tools", "_selected_action": [server.pk]}, follow=True)
    assert "testtools: add" not in response.content.decode().lower()  # not run: no such action for this user
    listed = admin_client.post(url, {"action": "list_tools", "_selected_action": [server.pk]}, follow=True)
    assert "testtools: add" in listed.content.decode().lower()  # a superuser runs it
