"""/v1/chat/completions holds a stateless request to the limits of POST /api/chat (a message's length, how many
messages, their length together) and every other part of it too: tool definitions and tool-call arguments count
toward the request's size, and numbers must be in range (a 3 MB tool description, 3 MB of arguments, 10,000
calls, 100,000 logit_bias keys, max_tokens 10**30 and seed 10**100 are each a clear 400)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = [{"role": "user", "content": "Hi"}]


async def test_v1_stateless_requests_keep_the_message_limits(api, chat_model, llm, settings):
    long = [{"role": "user", "content": "x" * (settings.CHAT_MAX_MESSAGE_CHARS + 1)}]
    many = [{"role": "user", "content": "hi"}] * (settings.CHAT_MAX_REQUEST_MESSAGES + 1)
    settings.CHAT_MAX_REQUEST_CHARS = 1000
    big = [{"role": "user", "content": "y" * 600}, {"role": "assistant", "content": "ok"},
           {"role": "user", "content": "z" * 600}]  # fmt: skip
    for messages, words in ((long, "too long"), (many, "Too many messages"), (big, "too long together")):
        body = {"model": "test-model", "messages": messages}
        response = await api.post("/v1/chat/completions", body, content_type="application/json")
        assert response.status_code == 400 and words in response.json()["error"]["message"]
    assert llm.chat_requests == []


def tool(description: str = "Weather") -> dict:
    return {"type": "function", "function": {"name": "get_weather", "description": description, "parameters": {}}}


def calls(count: int, arguments: str = "{}") -> list[dict]:
    return [{"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
            for i in range(count)]  # fmt: skip


def answered(count: int) -> list[dict]:
    return [{"role": "tool", "tool_call_id": f"c{i}", "content": "sunny"} for i in range(count)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tools": [tool("x" * 3_000_000)]}, "too long together"),
        ({"tools": [tool()], "messages": [*QUESTION, {"role": "assistant", "tool_calls": calls(1, "x" * 3_000_000)},
                                          *answered(1)]}, "too long (3,000,000 characters with its tool calls"),
        ({"tools": [tool()], "messages": [*QUESTION, {"role": "assistant", "tool_calls": calls(10_000)},
                                          *answered(1)]}, "at most 128 calls"),
        ({"logit_bias": {str(i): 1 for i in range(100_000)}}, "'logit_bias' must map at most 300"),
        ({"logit_bias": {"50256": 500}}, "'logit_bias' must map"),
        ({"logit_bias": {"the": 1}}, "'logit_bias' must map"),
        ({"max_tokens": 10**30}, "'max_tokens' must be an integer from 1 to 1,000,000"),
        ({"max_completion_tokens": 0}, "'max_tokens' must be an integer"),
        ({"seed": 10**100}, "'seed' must be a 64-bit integer"),
        ({"seed": "42"}, "'seed' must be a 64-bit integer"),
    ],
)  # fmt: skip
async def test_oversized_and_out_of_range_requests_are_a_clear_400(api, chat_model, llm, settings, extra, message):
    settings.API_MAX_BODY_BYTES = 8_000_000  # the parts themselves are what is refused, not the body's size
    body = {"model": chat_model.name, "messages": QUESTION, **extra}
    response = await api.post("/v1/chat/completions", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert message in response.json()["error"]["message"]
    assert not llm.chat_requests


async def test_logit_bias_and_seed_in_range_reach_the_model(api, chat_model, llm):
    llm.script(tokens=["Hi."])
    body = {"model": chat_model.name, "messages": QUESTION, "logit_bias": {"50256": -100}, "seed": 2**63 - 1}
    response = await api.post("/v1/chat/completions", body, content_type="application/json")
    assert response.status_code == 200
    sent = llm.chat_requests[-1].body
    assert sent["logit_bias"] == {"50256": -100} and sent["seed"] == 2**63 - 1
