"""Many requests at once, at CI scale (the figures print; bench/ runs the full scale): retries of one message
make one turn, turns that finish together are all saved, and a server process keeps what it loaded at start-up
out of the garbage collector's way."""

from __future__ import annotations

import asyncio
import time

import pytest

from chat.models import ChatInstance, Message

pytestmark = pytest.mark.django_db(transaction=True)


async def test_twenty_simultaneous_retries_of_one_message_make_one_turn(api, chat, llm):
    """Twenty concurrent retries of one message: one upstream call, twenty answers describing the same turn."""
    llm.script(tokens=[f"w{i} " for i in range(10)], delay=0.02)
    body = {"message": "hello", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id,
            "clientMessageId": "same-id"}  # fmt: skip
    started = time.monotonic()
    responses = await asyncio.gather(*(api.post("/api/chat", body, content_type="application/json") for _ in range(20)))
    print(f"\n20 concurrent retries answered in {time.monotonic() - started:.2f} s, "
          f"{len(llm.chat_requests)} upstream call(s)")  # fmt: skip
    assert [r.status_code for r in responses] == [200] * 20
    turns = {(r.json()["userMessage"]["id"], r.json()["assistantMessage"]["id"]) for r in responses}
    assert len(turns) == 1
    assert {r.json()["assistantMessage"]["content"] for r in responses} == {"".join(f"w{i} " for i in range(10))}
    assert len(llm.chat_requests) == 1
    assert await Message.objects.filter(chat=chat).acount() == 2


async def test_fifty_turns_finishing_at_once_are_all_saved(api, user, chat_model, llm):
    """Fifty replies end at the same moment and all write: no 'database is locked', no error."""
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=chat_model) for _ in range(50)]
    llm.default.tokens, llm.default.delay = ["a", "b", "c"], 0.05
    started = time.monotonic()

    async def turn(chat):
        body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat_model.public_id}
        return await api.post("/api/chat", body, content_type="application/json")

    responses = await asyncio.gather(*(turn(c) for c in chats))
    elapsed = time.monotonic() - started
    statuses = [r.status_code for r in responses]
    complete = await Message.objects.filter(role="assistant", status="complete").acount()
    print(f"\n50 simultaneous turns in {elapsed:.2f} s, {complete} saved complete, statuses {set(statuses)}")
    assert statuses == [200] * 50
    assert complete == 50
    assert await Message.objects.exclude(status="complete").acount() == 0


def test_the_server_process_freezes_what_it_loaded_at_startup():
    """A full garbage collection under load would walk every object of startup too (a 60 ms pause every
    waiting request feels): the ASGI module collects once and freezes them out of the collector's view."""
    import gc

    import config.asgi  # noqa: F401

    assert gc.get_freeze_count() > 50_000
