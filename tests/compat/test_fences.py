"""The fences around config/compat/: the upstream code each copy follows is unchanged, and the copies behave
as the framework does (the inline middleware against Django's stock middleware, our in-memory channel layer
against the behaviour Channels' own tests ask of theirs)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect

import pytest
from channels.exceptions import ChannelFull, StopConsumer
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from config.compat import FOLLOWS
from config.compat.consumers import serve
from config.compat.layers import InMemoryChannelLayer


def resolve(path: str):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    for name in parts[cut:]:
        target = getattr(target, name)
    return target


@pytest.mark.parametrize(
    ("module", "upstream", "recorded"),
    [(module, upstream, digest) for module, follows in FOLLOWS.items() for upstream, digest in follows.items()],
)
def test_the_upstream_code_a_copy_follows_is_unchanged(module, upstream, recorded):
    source = inspect.getsource(resolve(upstream))
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == recorded, (
        f"{upstream} changed upstream. Re-read it beside {module}, carry the change over (or drop the copy), "
        f"then record the new hash in config/compat/__init__.py."
    )


def test_every_compat_module_is_fenced():
    from pathlib import Path

    modules = {f"config.compat.{p.stem}" for p in Path(resolve("config.compat").__file__).parent.glob("*.py")}
    assert modules - {"config.compat.__init__"} == set(FOLLOWS)


# --- The inline middleware gives what Django's stock middleware gives -------------------------------------

STOCK = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
IGNORED_HEADERS = {"date", "content-length", "expires"}
# config.compat.middleware.SecurityMiddleware adds these on purpose (a CSP on HTML that has none of its own).
OURS_ONLY = {"permissions-policy", "content-security-policy"}


def shape(response) -> dict:
    """What a browser acts on: status, headers (values that vary per request aside), cookies' attributes."""
    headers = {k.lower(): v for k, v in response.items() if k.lower() not in IGNORED_HEADERS | OURS_ONLY}
    headers.pop("set-cookie", None)
    cookies = {}
    for name, morsel in response.cookies.items():
        cookies[name] = {key: morsel[key] for key in ("path", "httponly", "secure", "samesite", "max-age")}
        cookies[name]["emptied"] = morsel.value == ""
    for token in ("csrftoken", "sessionid"):
        headers = {k: v.replace(response.cookies[token].value, "<v>") if token in response.cookies else v
                   for k, v in headers.items()}  # fmt: skip
    return {"status": response.status_code, "headers": headers, "cookies": cookies}


async def run_matrix(client: AsyncClient, staff) -> list[dict]:
    """Session writes, messages, a CSRF failure and redirects, as a browser meets them."""
    results = [shape(await client.get("/accounts/login/"))]
    results.append(shape(await client.get("/accounts/login")))  # APPEND_SLASH redirect
    results.append(shape(await client.get("/")))  # login_required redirect
    strict = AsyncClient(enforce_csrf_checks=True)
    results.append(shape(await strict.post("/accounts/login/", {"username": "staffer", "password": "x"})))
    results.append(shape(await client.post("/accounts/login/", {"username": "staffer", "password": "pw-staff-1"})))
    results.append(shape(await client.get("/admin/")))
    model = {"name": "parity", "provider": "openai", "base_url": "http://127.0.0.1:9/v1", "temperature": "0.7",
             "is_active": "on"}  # fmt: skip
    results.append(shape(await client.post("/admin/chat/chatmodel/add/", model)))  # saves, adds a message
    results.append(shape(await client.get("/admin/chat/chatmodel/")))  # shows and consumes the message
    results.append(shape(await client.post("/accounts/logout/")))
    return results


@pytest.mark.django_db(transaction=True)
async def test_inline_middleware_answers_as_djangos_own_does(settings):
    from chat.models import ChatModel

    staff = await get_user_model().objects.acreate_superuser("staffer", password="pw-staff-1")
    ours = await run_matrix(AsyncClient(), staff)
    await ChatModel.objects.filter(name="parity").adelete()
    settings.MIDDLEWARE = STOCK
    stock = await run_matrix(AsyncClient(), staff)
    assert ours == stock
    assert [r["status"] for r in ours] == [200, 301, 302, 403, 302, 200, 302, 200, 302]
    assert "sessionid" in ours[4]["cookies"] and "messages" not in ours[6]["cookies"]  # messages in the session


# --- The in-memory layer behaves as Channels' own tests ask ------------------------------------------------


@pytest.fixture
async def layer():
    layer = InMemoryChannelLayer(capacity=3)
    yield layer
    await layer.flush()


async def test_layer_send_then_receive(layer):
    await layer.send("test-channel-1", {"type": "test.message", "text": "Ahoy-hoy!"})
    assert await layer.receive("test-channel-1") == {"type": "test.message", "text": "Ahoy-hoy!"}


async def test_layer_capacity_refuses_the_fourth_message(layer):
    for _ in range(3):
        await layer.send("test-channel-1", {"type": "test.message"})
    with pytest.raises(ChannelFull):
        await layer.send("test-channel-1", {"type": "test.message"})


async def test_layer_process_local_channels(layer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "test.message", "text": "local"})
    assert (await layer.receive(channel))["text"] == "local"


async def test_layer_keeps_order(layer):
    for n in (1, 2, 3):
        await layer.send("test-channel-3", {"type": f"message.{n}"})
    assert [(await layer.receive("test-channel-3"))["type"] for _ in range(3)] == [
        "message.1",
        "message.2",
        "message.3",
    ]


async def test_layer_groups_reach_members_only(layer):
    for n in (1, 2, 3):
        await layer.group_add("test-group", f"test-gr-chan-{n}")
    await layer.group_discard("test-group", "test-gr-chan-2")
    await layer.group_send("test-group", {"type": "message.1"})
    async with asyncio.timeout(1):
        assert (await layer.receive("test-gr-chan-1"))["type"] == "message.1"
        assert (await layer.receive("test-gr-chan-3"))["type"] == "message.1"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await layer.receive("test-gr-chan-2")


async def test_layer_group_send_ignores_a_full_member(layer):
    await layer.group_add("test-group", "test-gr-chan-1")
    for _ in range(5):
        await layer.group_send("test-group", {"type": "message.1"})  # no ChannelFull


@pytest.mark.parametrize("read_again", [True, False])
async def test_layer_messages_expire_and_their_channels_go(read_again):
    layer = InMemoryChannelLayer(expiry=0.1)
    layer.SWEEP_SECONDS = 0  # ours sweeps at most once a second; Channels' on every receive
    await layer.send("test-channel-1", {"type": "message.1"})
    await asyncio.sleep(0.15)
    if read_again:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await layer.receive("test-channel-1")
    else:
        await layer.send("test-channel-2", {"type": "message.2"})
        assert (await layer.receive("test-channel-2"))["type"] == "message.2"
    assert len(layer.channels) == 0


# --- The consumer loop hands messages over as Channels' await_many_dispatch does -------------------------


async def test_consumer_loop_dispatches_one_at_a_time_each_source_in_order():
    client, layer = asyncio.Queue(), asyncio.Queue()
    seen, running = [], [0]

    async def dispatch(message):
        running[0] += 1
        assert running[0] == 1  # never two handlers at once
        await asyncio.sleep(0.01)
        seen.append(message["n"])
        running[0] -= 1
        if len(seen) == 6:
            raise StopConsumer()

    for n, source in enumerate([client, layer, layer, client, client, layer]):
        source.put_nowait({"n": n})
    with pytest.raises(StopConsumer):
        await serve([client.get, layer.get], dispatch)
    assert [n for n in seen if n in (0, 3, 4)] == [0, 3, 4] and [n for n in seen if n in (1, 2, 5)] == [1, 2, 5]


async def test_consumer_loop_raises_a_failing_source_and_stops_its_readers():
    client = asyncio.Queue()

    async def broken():
        raise ConnectionError("the layer is gone")

    with pytest.raises(ConnectionError, match="the layer is gone"):
        await serve([client.get, broken], lambda message: asyncio.sleep(0))
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "serve.<locals>.read"]


async def test_consumer_loop_reads_no_further_ahead_than_channels_does():
    """While a handler waits on a slow client, messages stay in the layer, whose capacity then acts."""
    reads, release = [0], asyncio.Event()

    async def source():
        reads[0] += 1
        return {"n": reads[0]}

    async def dispatch(message):
        await release.wait()

    task = asyncio.create_task(serve([source], dispatch))
    await asyncio.sleep(0.05)
    assert reads[0] <= 3  # the one being handled, one in the inbox, one waiting to be put in
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
