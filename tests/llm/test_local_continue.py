"""Continuing a reply with the embedded local model: the prompt ends inside the reply, so the model goes on
from its text rather than starting a new answer."""

from __future__ import annotations

import re

import pytest

from chat.models import ChatInstance, ChatModel
from tests.conftest import post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def short_local_chat(user, transactional_db) -> ChatInstance:
    chat_model = ChatModel.objects.create(name="local", provider="local", temperature=0.0, max_tokens=12)
    return ChatInstance.objects.create(owner=user, chat_model=chat_model)


async def test_a_cut_reply_goes_on_where_it_stopped(api, short_local_chat):
    chat = short_local_chat
    events, _ = await read_stream(await post_turn(api, chat, "Count from 1 to 30, separated by commas. Only numbers."))
    cut = events[-2]["message"]
    assert cut["finishReason"] == "length", cut
    numbers = [int(n) for n in re.findall(r"\d+", cut["content"])]
    body = {"chatInstanceId": chat.public_id, "continueMessageId": cut["id"]}
    response = await api.post("/api/chat?stream=true", body, content_type="application/json")
    events, _ = await read_stream(response)
    added = "".join(e["content"] for e in events if e["type"] == "token")
    whole = events[-2]["message"]["content"]
    assert whole == cut["content"] + added
    more = [int(n) for n in re.findall(r"\d+", whole)]
    # The count goes on from the last number, not from 1 again.
    assert len(more) > len(numbers) and more[: len(numbers)] == numbers
    assert more[len(numbers)] in (numbers[-1], numbers[-1] + 1), whole
