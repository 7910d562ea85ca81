"""The OpenAI-compatible provider's requests, as the model server sees them."""

from __future__ import annotations

from chat.models import Message
from tests.conftest import post_turn, read_stream


async def test_the_model_server_gets_the_models_key_and_a_plain_json_body(api, chat, llm, monkeypatch):
    monkeypatch.setenv("LLM_KEY_TEST_UPSTREAM", "sk-test-123")
    chat.chat_model.api_key_env, chat.chat_model.temperature = "LLM_KEY_TEST_UPSTREAM", 0.25
    await chat.chat_model.asave()
    events, _ = await read_stream(await post_turn(api, chat, "héllo"))
    assert events[-1]["type"] == "stream_end"
    seen = llm.chat_requests[-1]
    assert seen.headers["authorization"] == "Bearer sk-test-123"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["accept-encoding"] == "identity"
    body = seen.body
    assert body["messages"][-1] == {"role": "user", "content": "héllo"}
    assert body["stream"] is True and body["temperature"] == 0.25
    assert await Message.objects.filter(role="assistant", status="complete").acount() == 1
