"""Client-side tools through /v1 with the official openai SDK: the model's calls come back to the client,
which runs them and sends the results as ``role: "tool"`` messages. Nothing runs on the server here."""

from __future__ import annotations

import json

import openai
import pytest

from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALLS = [
    {"id": "call_p", "name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
    {"id": "call_t", "name": "get_weather", "arguments": json.dumps({"city": "Tokyo"})},
]


@pytest.fixture
def sdk(daphne_server, token) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=token, max_retries=0, timeout=30)


def test_round_trip_not_streamed(sdk, chat_model, llm):
    llm.script(tokens=[], tool_calls=CALLS)
    question = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]
    first = sdk.chat.completions.create(
        model="test-model", messages=question, tools=[WEATHER], tool_choice="auto", parallel_tool_calls=True
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_p", "get_weather", {"city": "Paris"}),
        ("call_t", "get_weather", {"city": "Tokyo"}),
    ]
    upstream = llm.chat_requests[-1].body
    assert upstream["tools"] == [WEATHER] and upstream["tool_choice"] == "auto"
    assert upstream["parallel_tool_calls"] is True

    llm.script(tokens=["Paris ", "sunny, ", "Tokyo ", "rain."])
    results = [
        {"role": "tool", "tool_call_id": c.id, "content": "sunny" if c.id == "call_p" else "rain"} for c in calls
    ]
    second = sdk.chat.completions.create(
        model="test-model",
        messages=[*question, choice.message.model_dump(exclude_none=True), *results],
        tools=[WEATHER],
    )
    assert second.choices[0].message.content == "Paris sunny, Tokyo rain."
    assert second.choices[0].finish_reason == "stop"
    sent = llm.chat_requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert sent[1]["tool_calls"][0] == {
        "id": "call_p", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }  # fmt: skip
    assert sent[2] == {"role": "tool", "tool_call_id": "call_p", "content": "sunny"}
    assert Message.objects.count() == 0  # client-side tools are stateless


def test_round_trip_streamed(sdk, chat_model, llm):
    llm.script(tokens=[], tool_calls=CALLS, argument_piece=3)
    stream = sdk.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER], stream=True
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for piece in delta.tool_calls or []:
            call = calls.setdefault(piece.index, {"id": None, "name": "", "arguments": ""})
            call["id"] = call["id"] or piece.id
            call["name"] += piece.function.name or ""
            call["arguments"] += piece.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("call_p", "get_weather", {"city": "Paris"}),
        ("call_t", "get_weather", {"city": "Tokyo"}),
    ]

    llm.script(tokens=["Sunny ", "and ", "rain."])
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls.values()
        ]},
        {"role": "tool", "tool_call_id": "call_p", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_t", "content": "rain"},
    ]  # fmt: skip
    text = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in sdk.chat.completions.create(model="test-model", messages=messages, tools=[WEATHER], stream=True)
        if chunk.choices
    )
    assert text == "Sunny and rain."


def test_bad_tools_requests_are_clear_400s(sdk, chat_model, llm):
    bad = [
        ({"tools": [{"type": "function", "function": {"name": "no spaces allowed"}}]}, "tools[0]"),
        ({"tools": "nope"}, "'tools' must be"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": "auto"}, "need 'tools'"),
        ({"tools": [WEATHER], "extra_body": None, "session_id": "s1"}, "stateless"),
        ({"functions": [{"name": "f"}]}, "legacy"),
    ]
    for extra, message in bad:
        extra = {k: v for k, v in extra.items() if k != "extra_body"}
        body = {k: v for k, v in extra.items() if k not in ("tools", "tool_choice", "functions")}
        kwargs = {k: v for k, v in extra.items() if k in ("tools", "tool_choice", "functions")}
        with pytest.raises(openai.BadRequestError) as error:
            sdk.chat.completions.create(
                model="test-model", messages=[{"role": "user", "content": "hi"}], extra_body=body, **kwargs
            )
        assert message in error.value.message, (extra, error.value.message)
    # A tool message without tools, and a tool result without its call id.
    with pytest.raises(openai.BadRequestError, match="role must be system, user or assistant"):
        sdk.chat.completions.create(
            model="test-model", messages=[{"role": "tool", "content": "x", "tool_call_id": "a"}]
        )
    with pytest.raises(openai.BadRequestError, match="tool_call_id is required"):
        sdk.chat.completions.create(model="test-model", messages=[{"role": "tool", "content": "x"}], tools=[WEATHER])


def test_server_tools_run_in_a_session_conversation(sdk, chat_model, llm):
    chat_model.tools = ["calculator"]
    chat_model.save()
    llm.script(tokens=[], tool_calls=[{"id": "call_c", "name": "calculator", "arguments": '{"expression": "6*7"}'}])
    llm.script(tokens=["42."])
    result = sdk.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": "6*7?"}], extra_body={"session_id": "calc"}
    )
    assert result.choices[0].message.content == "42." and result.choices[0].finish_reason == "stop"
    assert llm.chat_requests[-1].body["messages"][-1] == {"role": "tool", "tool_call_id": "call_c", "content": "42"}
    reply = Message.objects.get(role="assistant")
    assert reply.tool_calls[0]["name"] == "calculator"
    # Without a session the chat model's own tools are not offered (the request is stateless).
    sdk.chat.completions.create(model="test-model", messages=[{"role": "user", "content": "6*7?"}])
    assert "tools" not in llm.chat_requests[-1].body
