"""What a turn sends fits its model's context: history that no longer fits is trimmed, oldest exchanges first
(system prompt and new message kept, tool calls with their results), the reply says how much was left out;
a message that cannot fit on its own is refused before it is saved, saying how long it may be."""

from __future__ import annotations

import re

import pytest

from chat.domain.context import estimate_tokens, fit
from chat.models import ChatModel, Message
from tests.conftest import post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


def words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


def test_fit_drops_the_oldest_exchanges_whole_and_keeps_the_system_prompt_and_the_new_message():
    model = ChatModel(name="small", context_window=400, max_tokens=100)
    call = {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": words(60)}, {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "2"}, {"role": "assistant", "content": words(30)},
        {"role": "user", "content": words(20)}, {"role": "assistant", "content": words(20)},
        {"role": "user", "content": "And now?"},
    ]  # fmt: skip
    kept = list(messages)
    assert fit(kept, None, model) == 4  # the first exchange, its tool call and result with it
    assert kept == [messages[0], *messages[5:]]
    assert fit(list(messages), None, ChatModel(name="big", context_window=100_000)) == 0
    tools = [{"type": "function", "function": {"name": "x", "description": words(80), "parameters": {}}}]
    assert fit(list(messages), tools, model) == 6  # the tools take room too: only the new message is left
    assert estimate_tokens("日本語") == 3 and estimate_tokens("abcdef") == 2


async def test_a_long_history_is_trimmed_and_the_reply_says_so(api, chat, llm):
    await ChatModel.objects.filter(pk=chat.chat_model.pk).aupdate(context_window=600, max_tokens=100)
    for n in range(6):
        llm.script(tokens=[words(40)])
        await read_stream(await post_turn(api, chat, f"question {n}: {words(40)}"))
    llm.script(tokens=["Short."])
    events, _ = await read_stream(await post_turn(api, chat, "The last question"))
    sent = llm.chat_requests[-1].body["messages"]
    assert sent[0]["role"] == "system" and sent[-1]["content"] == "The last question" and len(sent) < 14
    assert sum(estimate_tokens(m["content"]) + 4 for m in sent) <= 500
    saved = next(e for e in events if e["type"] == "message_saved")["message"]
    reply = await Message.objects.aget(public_id=saved["id"])
    assert saved["contextTrimmed"] == reply.context_trimmed == 14 - len(sent)  # system + 12 + the new one
    assert (reply.status, reply.content) == ("complete", "Short.")


async def test_a_message_too_long_for_the_model_is_refused_before_it_is_saved(api, chat, llm):
    await ChatModel.objects.filter(pk=chat.chat_model.pk).aupdate(context_window=4096)
    response = await post_turn(api, chat, "x" * 30_000)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "message_too_long"
    assert re.search(r"can take about [\d,]+ characters at a time \(this one has 30,000\)", error["message"])
    assert not await Message.objects.filter(chat=chat).aexists() and not llm.chat_requests
    llm.script(tokens=["Hi."])
    events, _ = await read_stream(await post_turn(api, chat, "hi"))
    assert events[-1]["finishReason"] == "stop"
