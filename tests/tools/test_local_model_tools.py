"""The bundled model (Qwen2.5-Coder-0.5B, run by llama.cpp) with tools on, through /api/chat: what a person reads
is never the text of a tool call, and a model that keeps calling ends its turn in bounded time (issue #27,
item 14: "What is 1234*5678?" showed 60 s of raw JSON calls as the answer; "Search my chats for France"
answered with JSON)."""

from __future__ import annotations

import re

import pytest

from chat.management.commands.bootstrap import SYSTEM_PROMPT
from chat.models import ChatInstance, ChatModel, Message
from tests.conftest import post_turn, read_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CALL_TEXT = re.compile(r"""["'](?:name|arguments|parameters)["']\s*:|</?tool_call>|```json""")


@pytest.fixture
def bundled_chat(user) -> ChatInstance:
    """The default chat model as ``manage.py bootstrap`` creates it, with the calculator on; greedy sampling so
    that the model writes the same thing on every run."""
    model = ChatModel.objects.create(
        name="Qwen2.5 Coder 0.5B (local)", provider="local", upstream_model="qwen2.5-coder-0.5b-instruct-q4_k_m",
        system_prompt=SYSTEM_PROMPT, temperature=0, max_tokens=1024, tools=["calculator"],
    )  # fmt: skip
    return ChatInstance.objects.create(owner=user, chat_model=model)


@pytest.mark.parametrize("question", ["What is 1234*5678?", "Search my chats for France"])
async def test_the_bundled_model_never_answers_with_the_text_of_a_call(api, bundled_chat, question):
    events, _ = await read_stream(await post_turn(api, bundled_chat, question))
    assert [e["type"] for e in events][-3:] == ["agent_response", "message_saved", "stream_end"]
    shown = "".join(e["content"] for e in events if e["type"] == "token")
    saved = events[-2]["message"]
    reply = await Message.objects.aget(public_id=saved["id"])
    for text in (shown, saved["content"], reply.content):
        assert not CALL_TEXT.search(text), text
    assert reply.content.strip()  # an answer, not an empty bubble
    assert reply.status == "complete" and events[-1]["finishReason"] in {"stop", "clarification"}
    # No round ran on to max_tokens: the model is stopped once its calls are written.
    assert saved["usage"]["completionTokens"] < 512
    results = [e for e in events if e["type"] == "tool_result"]
    assert results and all(e["name"] == "calculator" for e in results)
    if question.startswith("What"):
        assert results[0]["ok"] and results[0]["content"] == "7006652"
        assert "7006652" in reply.content
