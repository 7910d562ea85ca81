"""The event log read by real clients and across real server processes, and the reaper of dead turns."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import httpx
import pytest
from django.conf import settings as django_settings

from chat.models import Message
from tests.conftest import parse_sse
from tests.support.server import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

needs_redis = pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")),
    reason="several processes need PostgreSQL and Redis (the suite's second pass runs it)",
)


def turn_body(chat) -> dict:
    return {"message": "count", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}


async def post_stream(base_url: str, token: str, chat) -> list[dict]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post("/api/chat?stream=true", json=turn_body(chat),
                                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        return parse_sse(response.content)


async def sse_client_events(base_url: str, token: str, chat, **headers: str) -> list[tuple[str, dict]]:
    """The GET stream as httpx-sse (a client nobody here wrote) reads it: (id, event) until stream_end."""
    from httpx_sse import aconnect_sse

    got = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        url = f"/api/chats/{chat.public_id}/events"
        async with aconnect_sse(http, "GET", url, headers={"Authorization": f"Bearer {token}", **headers}) as source:
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue  # httpx-sse reports the retry hint and keep-alive comments as events with no data
                got.append((sse.id, json.loads(sse.data)))
                if got[-1][1]["type"] == "stream_end":
                    break
    return got


async def test_a_third_party_sse_client_gets_what_the_post_response_got(daphne_server, chat, token, llm):
    llm.script(tokens=[f"w{i} " for i in range(30)], delay=0.03)
    posting = asyncio.ensure_future(post_stream(daphne_server.url, token, chat))
    await asyncio.sleep(0.3)
    got = await sse_client_events(daphne_server.url, token, chat)
    posted = await posting
    assert [event for _, event in got] == posted
    assert [cursor for cursor, _ in got] == [f"2:{e['eventId']}" for e in posted]
    resumed = await sse_client_events(daphne_server.url, token, chat, **{"Last-Event-ID": "2:10"})
    assert [event for _, event in resumed] == posted[10:]


@pytest.fixture
def two_servers(request):
    env = {"REDIS_URL": django_settings.REDIS_URL, **getattr(request, "param", {})}
    servers = [ServerProcess("daphne", env).start(), ServerProcess("daphne", env).start()]
    yield servers
    for server in servers:
        server.stop()


@needs_redis
async def test_a_turn_on_one_process_is_read_live_from_another(two_servers, chat, token, llm):
    import websockets

    a, b = two_servers
    llm.script(tokens=[f"w{i} " for i in range(40)], delay=0.03)
    url = f"ws://127.0.0.1:{b.port}/ws/chats/{chat.public_id}/?token={token}"
    async with websockets.connect(url) as tab:
        posting = asyncio.ensure_future(post_stream(a.url, token, chat))
        await asyncio.sleep(0.4)  # mid-reply: B has none of it in memory, only the log in Redis
        got = await sse_client_events(b.url, token, chat)
        frames = []
        while not frames or frames[-1].get("type") != "stream_end":
            frames.append(json.loads(await asyncio.wait_for(tab.recv(), 10)))
    posted = await posting
    assert [event for _, event in got] == posted
    turn = [f for f in frames if "eventId" in f]
    assert turn[0]["type"] == "stream_start" and turn[0]["fromEventId"] == 1
    assert all(f["fromEventId"] == g["eventId"] + 1 for g, f in zip(turn, turn[1:], strict=False))
    assert turn[-1]["eventId"] == posted[-1]["eventId"]
    assert "".join(f["content"] for f in turn if f["type"] == "token") == "".join(f"w{i} " for i in range(40))


@needs_redis
@pytest.mark.parametrize("two_servers", [{"REALTIME_ORPHAN_SECONDS": "2", "REALTIME_REAPER": "1"}], indirect=True)
async def test_a_killed_processs_turn_is_finished_by_another(two_servers, chat, token, llm):
    a, b = two_servers
    llm.script(tokens=[f"w{i} " for i in range(400)], delay=0.05)
    posting = asyncio.ensure_future(post_stream(a.url, token, chat))
    reading = asyncio.ensure_future(sse_client_events(b.url, token, chat))
    await asyncio.sleep(1.0)
    a.proc.send_signal(signal.SIGKILL)  # no shutdown, no save: the process is simply gone
    a.proc.wait(5)
    killed = time.monotonic()
    got = await asyncio.wait_for(reading, 20)
    ended_after = time.monotonic() - killed
    posting.cancel()
    reply = await Message.objects.aget(chat=chat, role="assistant")
    print(f"\nreaper: the dead process's turn ended on the other process {ended_after:.1f} s after the kill")
    assert reply.status == "interrupted" and reply.finish_reason == "server_restart"
    end = got[-1][1]
    assert end["type"] == "stream_end" and end["finishReason"] == "server_restart"
    assert [e["eventId"] for _, e in got] == list(range(1, len(got) + 1))
    assert ended_after < 2 + 2 / 3 + 3  # the orphan limit, one reaper period, and slack for a busy machine
