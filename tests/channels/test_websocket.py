"""The websocket of a chat: who may connect (its owner, by token or session; an Origin that matches scheme, host
and port; refusals alike whatever the reason, and no error for an overlong id or a path of no route), what it
pushes, catch-up and live replies."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from chat.domain.serializers import message_to_dict
from chat.domain.services import api_token_create
from chat.models import Message
from chat.realtime import broadcast
from config.asgi import application
from tests.conftest import post_turn, read_stream
from tests.support.websocket import HOST, ORIGIN, receive_until, socket

pytestmark = pytest.mark.django_db(transaction=True)


def saved_seqs(events: list[dict]) -> list[int]:
    return [e["message"]["seq"] for e in events if e["type"] == "message_saved"]


async def test_owner_connects_with_token(chat, token):
    ws = socket(chat.public_id, token=token)
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_owner_connects_with_session_cookie(client, user, chat):
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = socket(chat.public_id, headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_refusals_look_the_same(chat, token, other_user):
    stranger = (await sync_to_async(api_token_create)(user=other_user))[1]
    cases = {
        "stranger": socket(chat.public_id, token=stranger),
        "anonymous": socket(chat.public_id),
        "bad token": socket(chat.public_id, token="tok_bad"),
        "foreign origin": socket(chat.public_id, token=token, headers=[(b"origin", b"http://evil.example")]),
        "no such chat": socket("ci_doesnotexist000000000", token=token),
        "bad after": socket(chat.public_id, token=token, query="after=-3"),
    }
    for name, ws in cases.items():
        connected, code = await ws.connect()
        assert not connected, name
        await ws.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [(b"http://127.0.0.1:8000", b"127.0.0.1:8000", True), (b"http://127.0.0.1:9999", b"127.0.0.1:8000", False),
     (b"https://localhost", b"localhost:8000", False), (b"http://localhost:8000", b"localhost:8000", True),
     (b"http://evil.example:8000", b"evil.example:8000", False), (b"null", b"127.0.0.1:8000", False)],
)  # fmt: skip
async def test_websocket_origin_must_match_scheme_host_and_port(chat, token, origin, host, accepted):
    ws = WebsocketCommunicator(application, f"/ws/chats/{chat.public_id}/?token={token}",
                               headers=[(b"origin", origin), (b"host", host)])  # fmt: skip
    connected, _ = await ws.connect()
    assert connected is accepted
    await ws.disconnect()


async def test_websocket_trusted_origins_behind_a_proxy(chat, token, settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    ws = WebsocketCommunicator(
        application,
        f"/ws/chats/{chat.public_id}/?token={token}",
        headers=[(b"origin", b"https://chat.example.com"), (b"host", b"chat.example.com")],
    )
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_an_overlong_chat_id_on_the_websocket_is_refused(token):
    ws = WebsocketCommunicator(
        application,
        f"/ws/chats/ci_{'a' * 300}/?token={token}",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


@pytest.mark.parametrize(
    "path", ["/ws/", "/ws/nothing/", "/ws/chats/ci_abc/voice/extra/", "/ws/chats/ci_abc\x00/", "/ws/chats/ci_%00/"]
)
async def test_a_websocket_path_that_matches_no_route_is_refused(path, token, caplog):
    """Once an HTTP 500 and a traceback for each such path."""
    ws = WebsocketCommunicator(application, f"{path}?token={token}", headers=[HOST, ORIGIN])
    connected, _ = await ws.connect()  # closed before it is accepted: a 403 to the browser
    assert not connected
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def test_turn_pushes_both_messages_to_every_subscriber(api, chat, token, llm):
    llm.script(tokens=["Hi", " there"], delay=0.01)
    tabs = [socket(chat.public_id, token=token) for _ in range(2)]
    for ws in tabs:
        assert (await ws.connect())[0]
    events, _ = await read_stream(await post_turn(api, chat, "hello"))
    sse_saved = events[-2]["message"]
    for ws in tabs:
        received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 2)
        saved = [e["message"] for e in received if e["type"] == "message_saved"]
        assert [m["seq"] for m in saved] == [1, 2]
        assert saved[0]["role"] == "user" and saved[0]["content"] == "hello"
        assert saved[1] == sse_saved  # Serialized exactly as the REST endpoint does.
        types = [e["type"] for e in received]
        assert types.index("stream_start") < types.index("stream_end") < len(types) - 1
        live = "".join(e["content"] for e in received if e["type"] == "token")
        assert live == "Hi there"
        await ws.disconnect()
    rest = (await api.get(f"/api/chats/{chat.public_id}/messages")).json()["messages"]
    assert rest[1] == sse_saved


async def test_a_process_joins_each_group_once_however_many_tabs_it_serves(api, chat, token, llm):
    """The hub: one layer membership per process and group; each tab still gets every message."""
    from channels.layers import get_channel_layer

    from config.compat.layers import InMemoryChannelLayer

    layer = get_channel_layer()
    if not isinstance(layer, InMemoryChannelLayer):
        pytest.skip("counts the in-memory layer's memberships (the Redis layers keep theirs in Redis)")
    group, live = broadcast.chat_group(chat.public_id), broadcast.live_group(chat.public_id)
    tabs = [socket(chat.public_id, token=token, query="" if i < 2 else "live=0") for i in range(5)]
    for ws in tabs:
        assert (await ws.connect())[0]
    assert len(layer.groups[group]) == 1 and len(layer.groups[live]) == 1
    (channel,) = layer.groups[group]
    assert layer.get_capacity(channel) == 100_000  # settings give the hub's channel (every chat's pushes) room
    llm.script(tokens=["one", " two"])
    await read_stream(await post_turn(api, chat, "hello"))
    for ws in tabs:
        received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 2)
        assert saved_seqs(received) == [1, 2]
    for ws in tabs[:-1]:
        await ws.disconnect()
    assert len(layer.groups[group]) == 1 and not layer.groups.get(live)
    await tabs[-1].disconnect()
    assert not layer.groups.get(group)  # the last tab gone, so is the process's membership


async def test_a_tab_whose_consumer_crashes_leaves_its_groups(chat, token, monkeypatch):
    from chat.ws.consumers import ChatConsumer
    from chat.ws.hub import Hub

    async def crash(self, event):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(ChatConsumer, "chat_message_saved", crash)
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    assert broadcast.chat_group(chat.public_id) in Hub.get().members
    await broadcast.push_message_saved(chat.public_id, {"seq": 1, "id": "m"})
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(ws.future, 2)
    assert not Hub.get().members  # no tab of a dead socket stays behind to be delivered to


async def test_a_failing_layer_closes_the_tabs_which_reconnect_and_catch_up(api, chat, token, llm, monkeypatch):
    from channels.layers import get_channel_layer

    from chat.ws.hub import Hub

    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    layer = get_channel_layer()

    async def broken(channel):
        raise ConnectionError("the layer is gone")

    monkeypatch.setattr(layer, "receive", broken)
    hub = Hub.get()
    hub._reader.cancel()  # the reader waiting since before the failure: start it again, now failing
    hub._reader = asyncio.create_task(hub._read())
    with pytest.raises(ConnectionError):  # the socket's task fails, so the server closes it (1011)
        await asyncio.wait_for(ws.future, 2)
    monkeypatch.undo()
    assert not hub.members
    again = socket(chat.public_id, token=token, query="after=0")
    assert (await again.connect())[0]
    llm.script(tokens=["fine"])
    await read_stream(await post_turn(api, chat, "still there?"))
    saved = await receive_until(again, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 2)
    assert saved_seqs(saved) == [1, 2]
    await again.disconnect()


async def test_catch_up_after_seq(api, chat, token, llm):
    for text in ("one", "two", "three"):
        await read_stream(await post_turn(api, chat, text))
    ws = socket(chat.public_id, token=token, query="after=2")
    assert (await ws.connect())[0]
    received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 6)
    assert saved_seqs(received) == [3, 4, 5, 6]
    assert await ws.receive_nothing(0.2)
    await ws.disconnect()


@pytest.mark.parametrize("when", ["before the read", "after the read"])
async def test_message_saved_during_catch_up_is_sent_once(api, chat, token, llm, monkeypatch, when):
    """A message committed while the socket reads its catch-up arrives exactly once."""
    await read_stream(await post_turn(api, chat, "one"))
    from chat.ws import consumers

    original = consumers._catch_up

    def racing_catch_up(user, chat_id, after):
        def save_and_push():
            message = Message.objects.create(chat=chat, seq=3, role="user", content="raced")
            async_to_sync(broadcast.push_message_saved)(chat.public_id, message_to_dict(message))

        if when == "before the read":
            save_and_push()
            return original(user, chat_id, after)
        result = original(user, chat_id, after)
        save_and_push()
        return result

    monkeypatch.setattr(consumers, "_catch_up", racing_catch_up)
    ws = socket(chat.public_id, token=token, query="after=0")
    assert (await ws.connect())[0]
    received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 3)
    assert saved_seqs(received) == [1, 2, 3]
    assert await ws.receive_nothing(0.3)
    await ws.disconnect()


def token_text(frames: list[dict]) -> str:
    """The reply's text from websocket frames, checking that their eventId ranges follow each other."""
    ids = [(f["fromEventId"], f["eventId"]) for f in frames if "eventId" in f]
    assert ids[0][0] == 1 and all(first == last + 1 for (_, last), (first, _) in zip(ids, ids[1:], strict=False)), ids
    return "".join(f["content"] for f in frames if f["type"] == "token")


async def test_reload_mid_reply_replays_the_turn_from_the_log_then_follows_it(api, chat, token, llm):
    words = [f"w{i} " for i in range(40)]
    llm.script(tokens=words, delay=0.02)
    response = await post_turn(api, chat, "tell me a story")
    reader = asyncio.ensure_future(read_stream(response))
    await asyncio.sleep(0.35)
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["role"] == "assistant")
    events, _ = await reader
    assert received[0] == {**events[0], "fromEventId": 1}  # stream_start as the POST stream had it, and its range
    assert received[1]["type"] == "status"
    turn = [e for e in received if "eventId" in e]
    assert turn[0]["eventId"] == 1 and turn[-1]["type"] == "stream_end" and turn[-1]["eventId"] == events[-1]["eventId"]
    assert token_text(turn) == "".join(words) == received[-1]["message"]["content"]
    assert sum(e["type"] == "token" for e in received) < len(words)  # the replay joined what it had
    await ws.disconnect()


async def test_a_hidden_tab_gets_saved_messages_only_until_it_is_shown(api, chat, token, llm):
    words = [f"w{i} " for i in range(60)]
    llm.script(tokens=words, delay=0.02)
    hidden = socket(chat.public_id, token=token, query="live=0")
    assert (await hidden.connect())[0]
    response = await post_turn(api, chat, "tell me a story")
    reader = asyncio.ensure_future(read_stream(response))
    first = await receive_until(hidden, lambda e: e["type"] == "message_saved")  # the user's message
    assert [e["type"] for e in first] == ["message_saved"]
    await asyncio.sleep(0.4)  # tokens stream meanwhile, to the visible tabs only
    assert await hidden.receive_nothing(0.05)
    # Shown: the reply so far from the log, then live frames, with no gap or repeat.
    await hidden.send_to(text_data=json.dumps({"type": "live", "on": True}))
    turn = await receive_until(hidden, lambda e: e["type"] == "stream_end", timeout=10)
    ids = [i for f in turn for i in range(f["fromEventId"], f["eventId"] + 1)]
    assert turn[0]["type"] == "stream_start" and ids == list(range(1, ids[-1] + 1))
    assert token_text(turn) == "".join(words)
    await reader
    # Hidden again: the next reply's frames do not come, its saved messages do.
    await hidden.send_to(text_data=json.dumps({"type": "live", "on": False}))
    await asyncio.sleep(0.05)
    await read_stream(await post_turn(api, chat, "again"))
    rest = await receive_until(hidden, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 4)
    assert {e["type"] for e in rest} == {"message_saved"}
    await hidden.disconnect()


async def test_stop_reaches_subscribers(api, chat, token, llm):
    llm.script(tokens=[f"w{i} " for i in range(100)], delay=0.02)
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    reader = asyncio.ensure_future(read_stream(await post_turn(api, chat)))
    await asyncio.sleep(0.3)
    await api.post(f"/api/chats/{chat.public_id}/stop")
    received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["role"] == "assistant")
    assert received[-1]["message"]["status"] == "interrupted"
    await reader
    await ws.disconnect()


@pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")),
    reason="needs PostgreSQL and Redis (the suite's second pass runs it)",
)
async def test_two_processes_share_pushes_and_live_replies(chat, token, llm):
    import websockets

    from tests.support.server import ServerProcess

    env = {"REDIS_URL": django_settings.REDIS_URL}
    a, b = await asyncio.gather(
        asyncio.to_thread(lambda: ServerProcess("daphne", env).start()),
        asyncio.to_thread(lambda: ServerProcess("daphne", env).start()),
    )
    try:
        llm.script(tokens=[f"w{i} " for i in range(30)], delay=0.02)
        url = f"ws://127.0.0.1:{a.port}/ws/chats/{chat.public_id}/?token={token}"
        async with websockets.connect(url) as early:
            import httpx

            body = {"message": "across", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
            async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
                turn = asyncio.ensure_future(
                    http.post("/api/chat", json=body, headers={"Authorization": f"Bearer {token}"})
                )
                early_events = []
                while not any(e["type"] == "token" for e in early_events):
                    early_events.append(json.loads(await asyncio.wait_for(early.recv(), 10)))
                # A tab that lands on process A mid-reply sees the reply process B is streaming.
                async with websockets.connect(url) as late:
                    late_events = []
                    while not late_events or late_events[-1].get("type") != "message_saved" or \
                            late_events[-1]["message"]["role"] != "assistant":  # fmt: skip
                        late_events.append(json.loads(await asyncio.wait_for(late.recv(), 10)))
                reply = (await turn).json()["assistantMessage"]
            while len(saved_seqs(early_events)) < 2:
                early_events.append(json.loads(await asyncio.wait_for(early.recv(), 10)))
        assert saved_seqs(early_events) == [1, 2]
        assert late_events[0]["type"] == "stream_start" and late_events[0]["eventId"] == 1  # replayed from the log
        rebuilt = token_text([e for e in late_events if "eventId" in e])
        assert rebuilt == reply["content"] == "".join(f"w{i} " for i in range(30))
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis channel layer (the suite's second pass)")
async def test_an_idle_tab_outlives_the_redis_layers_blocking_wait(api, chat, token, llm):
    # channels_redis waits for messages with a 5 s BZPOPMIN; a client read timeout of the same 5 s
    # (redis-py 8's default) cut that wait short and closed every tab that had been quiet for 5 s.
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    await asyncio.sleep(7)
    assert await ws.receive_nothing(0.1)
    await read_stream(await post_turn(api, chat, "still there?"))
    received = await receive_until(ws, lambda e: e["type"] == "message_saved" and e["message"]["seq"] == 2)
    assert saved_seqs(received) == [1, 2]
    await ws.disconnect()
