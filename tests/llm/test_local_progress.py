"""A long message to the local model: the person waiting sees how far the model has read it."""

from __future__ import annotations

import pytest

from chat.models import ChatInstance, ChatModel
from tests.conftest import post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def local_chat(user, transactional_db) -> ChatInstance:
    chat_model = ChatModel.objects.create(name="local", provider="local", temperature=0.0, max_tokens=4)
    return ChatInstance.objects.create(owner=user, chat_model=chat_model)


async def test_reading_a_long_message_reports_its_progress(api, local_chat):
    text = " ".join(f"Line {n}: the quick brown fox jumps over the lazy dog." for n in range(120))
    events, _ = await read_stream(await post_turn(api, local_chat, text + "\nHow many lines?"))
    reading = [e for e in events if e["type"] == "status" and e["state"] == "reading"]
    assert reading, [e["type"] for e in events]
    percents = [int(e["message"].rsplit(" ", 1)[1].rstrip("%")) for e in reading]
    assert percents == sorted(percents) and 0 < percents[0] < 100
    assert all(e["message"].startswith("reading your message…") for e in reading)
    first_token = next(i for i, e in enumerate(events) if e["type"] == "token")
    assert events.index(reading[-1]) < first_token


async def test_a_short_message_reports_nothing(api, local_chat):
    events, _ = await read_stream(await post_turn(api, local_chat, "Hi"))
    assert not [e for e in events if e["type"] == "status" and e["state"] == "reading"]
