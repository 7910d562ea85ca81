"""GET /api/chats/<ci>/events: a chat's turns read from the event log, as EventSource clients read them."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import AsyncClient

from tests.conftest import post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


def parse_blocks(raw: bytes) -> list[tuple[str | None, dict]]:
    """(id, event) for each ``data:`` block of a GET stream; the ``retry:`` hint and keep-alives checked aside."""
    blocks = []
    for block in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":") and line)
        if "data" in fields:
            assert set(fields) == {"id", "data"}, block
            blocks.append((fields["id"], json.loads(fields["data"])))
        else:
            assert set(fields) <= {"retry"}, block
    return blocks


async def read_get(client: AsyncClient, chat, *, headers=None, query: str = "", timeout: float = 10):
    response = await client.get(f"/api/chats/{chat.public_id}/events{query}", headers=headers or {})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/event-stream") and response["Cache-Control"] == "no-cache"
    pieces = []

    async def read() -> None:
        async for piece in response.streaming_content:
            pieces.append(piece)

    async with asyncio.timeout(timeout):
        await read()
    assert pieces[0] == b"retry: 2000\n\n"
    return parse_blocks(b"".join(pieces))


async def test_a_running_turn_is_replayed_then_followed_to_its_end(api, chat, llm):
    llm.script(tokens=[f"w{i} " for i in range(30)], delay=0.02)
    posting = asyncio.ensure_future(read_stream(await post_turn(api, chat, "go")))
    await asyncio.sleep(0.25)  # mid-reply
    got = await read_get(api, chat)
    posted, _ = await posting
    assert [event for _, event in got] == posted  # the same events, fields and eventIds as the POST response
    assert [cursor for cursor, _ in got] == [f"2:{e['eventId']}" for e in posted]


async def test_resume_after_an_event_id(api, chat, llm):
    llm.script(tokens=["a", "b", "c", "d"], delay=0.01)
    posted, _ = await read_stream(await post_turn(api, chat))
    resumed = await read_get(api, chat, headers={"Last-Event-ID": "2:3"})
    assert [event for _, event in resumed] == posted[3:]
    bare = await read_get(api, chat, query="?after=3")  # a bare eventId: the latest turn's
    assert [event for _, event in bare] == posted[3:]
    header_wins = await read_get(api, chat, headers={"Last-Event-ID": "2:5"}, query="?after=1")
    assert [event for _, event in header_wins] == posted[5:]


async def test_with_no_turn_running_it_waits_for_the_next_one(api, chat, llm):
    llm.script(tokens=["first"])
    await read_stream(await post_turn(api, chat, "one"))  # seq 2, finished
    reader = asyncio.ensure_future(read_get(api, chat))
    await asyncio.sleep(0.3)
    assert not reader.done()
    llm.script(tokens=["second"], delay=0.01)
    posted, _ = await read_stream(await post_turn(api, chat, "two"))
    got = await reader
    assert [event for _, event in got] == posted and got[0][0] == "4:1"


async def test_a_reconnect_after_the_end_waits_for_the_next_turn(api, chat, llm):
    """What EventSource does after a turn ends: reconnect with the last id, and get the next turn."""
    first, _ = await read_stream(await post_turn(api, chat, "one"))
    reader = asyncio.ensure_future(read_get(api, chat, headers={"Last-Event-ID": f"2:{first[-1]['eventId']}"}))
    await asyncio.sleep(0.3)
    assert not reader.done()
    second, _ = await read_stream(await post_turn(api, chat, "two"))
    assert [event for _, event in await reader] == second


async def test_a_cursor_of_an_older_turn_reads_the_newer_one_from_its_start(api, chat, llm):
    await read_stream(await post_turn(api, chat, "one"))
    second, _ = await read_stream(await post_turn(api, chat, "two"))
    got = await read_get(api, chat, headers={"Last-Event-ID": "2:3"})
    assert [event for _, event in got] == second


async def test_the_log_keeps_tokens_a_post_left_out(api, chat, llm):
    llm.script(tokens=["x", "y"] * 5, delay=0.1)
    posting = asyncio.ensure_future(read_stream(await post_turn(api, chat, includeTokens=False)))
    await asyncio.sleep(0.05)
    got = [event for _, event in await read_get(api, chat)]
    posted, _ = await posting
    assert "token" not in [e["type"] for e in posted]
    assert "".join(e["content"] for e in got if e["type"] == "token") == "xy" * 5
    assert [e["eventId"] for e in got] == list(range(1, len(got) + 1))


@pytest.mark.parametrize("cursor", ["abc", "2:x", "-1", "2:3:4", "1" * 50, ":"])
async def test_a_garbage_cursor_is_a_400(api, chat, cursor):
    for response in (
        await api.get(f"/api/chats/{chat.public_id}/events", headers={"Last-Event-ID": cursor}),
        await api.get(f"/api/chats/{chat.public_id}/events", {"after": cursor}),
    ):
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


async def test_another_users_chat_is_a_404_and_strangers_a_401(other_api, chat):
    assert (await other_api.get(f"/api/chats/{chat.public_id}/events")).status_code == 404
    assert (await AsyncClient().get(f"/api/chats/{chat.public_id}/events")).status_code == 401


async def test_the_session_cookie_is_enough(api, user, chat, llm):
    browser = AsyncClient(enforce_csrf_checks=True)  # EventSource sends cookies, never headers
    await browser.aforce_login(user)
    llm.script(tokens=["hi "] * 10, delay=0.1)
    posting = asyncio.ensure_future(read_stream(await post_turn(api, chat)))
    await asyncio.sleep(0.05)
    assert [e["type"] for _, e in await read_get(browser, chat)][-1] == "stream_end"
    await posting
