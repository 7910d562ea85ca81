"""The realtime backends and the rate-limit counters against the same tests: process memory, and Redis (the
production one). The limits these counters count are tested in tests/api/test_rate_limits.py."""

from __future__ import annotations

import asyncio
import time

import pytest

from chat.domain.auth import token_user
from chat.realtime.base import TurnRef
from chat.realtime.counters import LocalCounters, RedisCounters
from chat.realtime.memory import MemoryBackend
from chat.realtime.redis import RedisBackend

REDIS_URL = "redis://127.0.0.1:6379/6"


def redis_answers() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def in_memory_or_redis(request, settings, memory, redis):
    """``memory()`` or, with Redis answering (and REDIS_URL pointing at it), ``redis()``."""
    if request.param == "memory":
        return memory()
    if not redis_answers():
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (scripts/services.sh starts it)")
    settings.REDIS_URL = REDIS_URL
    return redis()


@pytest.fixture(params=["memory", "redis"])
def backend(request, settings):
    settings.REALTIME_LOG_TTL = 60
    return in_memory_or_redis(request, settings, MemoryBackend, RedisBackend)


def turn(seq: int = 2) -> TurnRef:
    """A turn of a chat of its own (Redis keeps other tests' logs)."""
    chat = f"ci_test{time.time_ns()}"
    return TurnRef(chat, seq, f"msg_{chat}_{seq}")


def event(kind: str, event_id: int, **fields) -> dict:
    return {"type": kind, **fields, "eventId": event_id}


async def test_append_read_and_state(backend):
    t = turn()
    assert await backend.log_state(t.chat_id) is None
    backend.log_begin(t)
    state = await backend.log_state(t.chat_id)
    assert (state.turn, state.last_event_id, state.ended) == (t, 0, False)
    events = [event("stream_start", 1), event("token", 2, content="a"), event("token", 3, content="b")]
    for e in events:
        backend.log_append(t, e)
    await backend.log_flush()
    assert await backend.log_read(t, 0) == events
    assert await backend.log_read(t, 2) == events[2:]
    assert await backend.log_read(t, 3) == []
    backend.log_append(t, event("stream_end", 4, finishReason="stop", usage=None))
    await backend.log_end(t)
    state = await backend.log_state(t.chat_id)
    assert (state.last_event_id, state.ended) == (4, True)
    assert len(await backend.log_read(t, 0)) == 4  # still readable after the end, for REALTIME_LOG_TTL


async def test_a_new_turn_replaces_the_chats_log(backend):
    first = turn(2)
    second = TurnRef(first.chat_id, 4, first.message_id + "b")
    backend.log_begin(first)
    backend.log_append(first, event("stream_start", 1))
    await backend.log_end(first)
    backend.log_begin(second)
    assert (await backend.log_state(first.chat_id)).turn == second
    assert await backend.log_read(second, 0) == []


async def test_waiting_wakes_on_an_event_and_times_out_without_one(backend):
    t = turn()
    backend.log_begin(t)
    started = time.monotonic()
    await backend.log_wait(t, 0, 0.2)
    assert time.monotonic() - started >= 0.15  # nothing came

    async def later() -> None:
        await asyncio.sleep(0.1)
        backend.log_append(t, event("stream_start", 1))
        await backend.log_flush()

    started = time.monotonic()
    await asyncio.gather(backend.log_wait(t, 0, 5), later())
    assert time.monotonic() - started < 2
    assert [e["eventId"] for e in await backend.log_read(t, 0)] == [1]
    started = time.monotonic()
    await backend.log_wait(t, 0, 5)  # already there: no wait
    assert time.monotonic() - started < 0.5


async def test_waiting_for_the_next_turn(backend):
    t = turn()
    backend.log_begin(t)

    async def later() -> None:
        await asyncio.sleep(0.1)
        backend.log_begin(TurnRef(t.chat_id, 4, t.message_id + "b"))

    started = time.monotonic()
    await asyncio.gather(backend.log_wait_turn(t.chat_id, 2, 5), later())
    assert time.monotonic() - started < 2
    assert (await backend.log_state(t.chat_id)).turn.seq == 4


async def test_alive_markers(backend, settings):
    from chat.turns import runtime

    settings.REALTIME_ORPHAN_SECONDS = 1
    t = turn()
    if isinstance(backend, MemoryBackend):  # one process: no other process's turn is alive (the reaper asks
        control = runtime.TurnControl(t.chat_id, t.message_id)  # this process's runtime itself)
        runtime.register(control)
        backend.log_begin(t)
        await backend.turns_alive([t.message_id])
        assert not await backend.turn_is_alive(t.message_id)
        runtime.unregister(control)
        return
    backend.log_begin(t)
    await backend.log_flush()
    assert await backend.turn_is_alive(t.message_id)
    await asyncio.sleep(1.2)
    assert not await backend.turn_is_alive(t.message_id)  # nobody refreshed it
    await backend.turns_alive([t.message_id])
    assert await backend.turn_is_alive(t.message_id)
    await backend.log_end(t)
    assert not await backend.turn_is_alive(t.message_id)


@pytest.fixture(params=["memory", "redis"])
def counters(request, settings):
    return in_memory_or_redis(request, settings, LocalCounters, RedisCounters)


async def test_counters(counters):
    key = f"rl:test:{time.time_ns()}"
    assert [await counters.incr(key, 60) for _ in range(3)] == [1, 2, 3]
    await counters.decr(key)
    assert await counters.incr(key, 60) == 3
    for _ in range(5):
        await counters.decr(key)
    assert await counters.incr(key, 60) == 1  # never below zero
    sync_key = key + ":sync"
    assert counters.count_sync(sync_key) == 0
    assert [counters.incr_sync(sync_key, 60) for _ in range(2)] == [1, 2]
    assert counters.count_sync(sync_key) == 2


async def test_counters_expire(counters):
    key = f"rl:test:{time.time_ns()}"
    assert await counters.incr(key, 1) == 1
    await asyncio.sleep(1.2)
    assert await counters.incr(key, 1) == 1


async def test_in_memory_counters_expire_and_never_go_below_zero(monkeypatch):
    from chat.realtime import counters as module

    counters, now = module.LocalCounters(), [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    assert [await counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    await counters.decr("k")
    assert await counters.incr("k", 60) == 3
    now[0] += 61  # the window is over: a new count, and the sweep drops the old entries
    assert await counters.incr("k", 60) == 1 and await counters.incr("other", 60) == 1
    for _ in range(3):
        await counters.decr("other")
    assert await counters.incr("other", 60) == 1


async def test_stop_requests_reach_the_process_that_runs_the_turn(backend):
    from chat.turns import runtime

    control = runtime.TurnControl(f"ci_stop{time.time_ns()}", f"msg_stop{time.time_ns()}")
    control.task = asyncio.ensure_future(asyncio.sleep(10))
    listener = backend.listen_for_stop(control)
    if isinstance(backend, MemoryBackend):  # one process: nobody else to ask, nothing to listen for
        assert listener is None and await backend.request_stop(control.chat_id, control.message_id) is False
    else:
        await asyncio.sleep(0.2)  # the listener has joined its group
        assert await backend.request_stop(control.chat_id, control.message_id) is True
        for _ in range(50):
            if control.stop_requested:
                break
            await asyncio.sleep(0.05)
        assert control.stop_requested
        control.done.set()
        listener.cancel()
    control.task.cancel()


@pytest.mark.django_db(transaction=True)
async def test_token_lookups(user, token):
    assert (await token_user(token)).pk == user.pk
    assert (await token_user(token)).pk == user.pk  # cached
    assert await token_user("tok_unknown") is None


@pytest.mark.django_db(transaction=True)
async def test_the_reaper_finishes_only_what_no_process_runs(chat, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import ChatInstance, Message
    from chat.realtime import get_backend, memory
    from chat.turns import reaper

    settings.REALTIME_ORPHAN_SECONDS = 1
    now = timezone.now()
    monkeypatch.setattr(memory, "PROCESS_STARTED", now - timedelta(minutes=1))
    other = await ChatInstance.objects.acreate(owner_id=chat.owner_id, chat_model_id=chat.chat_model_id)
    old = await Message.objects.acreate(chat=chat, seq=2, role="assistant", status="streaming")
    recent = await Message.objects.acreate(chat=other, seq=2, role="assistant", status="streaming")
    await Message.objects.filter(pk=old.pk).aupdate(created_at=now - timedelta(minutes=5))  # before the process
    await Message.objects.filter(pk=recent.pk).aupdate(created_at=now - timedelta(seconds=30))
    await reaper.reap()
    await old.arefresh_from_db()
    await recent.arefresh_from_db()
    assert old.status == "interrupted" and old.finish_reason == "server_restart"
    # One process (memory): a reply younger than the process may be a sibling process's, so it stays.
    # Redis: nobody marked it alive, so it is an orphan.
    expected = "streaming" if isinstance(get_backend(), memory.MemoryBackend) else "interrupted"
    assert recent.status == expected
