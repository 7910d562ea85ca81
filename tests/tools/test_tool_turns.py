"""A turn that acts: the model calls tools, the server runs them, the model answers; every step is an event."""

from __future__ import annotations

import pytest

from chat.models import Message
from tests.tools.conftest import call, turn_events

pytestmark = pytest.mark.django_db(transaction=True)


def collapse(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


async def test_calculator_turn(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "12.5 * (3 + 4)"})])
    llm.script(tokens=["It ", "is ", "87.5."])
    events = await turn_events(api, tool_chat, "What is 12.5 times 7?")

    assert collapse([e["type"] for e in events]) == [
        "stream_start", "status", "tool_start", "tool_result", "token", "agent_response", "message_saved",
        "stream_end",
    ]  # fmt: skip
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))
    start = next(e for e in events if e["type"] == "tool_start")
    result = next(e for e in events if e["type"] == "tool_result")
    assert start["name"] == "calculator" and start["arguments"] == {"expression": "12.5 * (3 + 4)"}
    assert start["label"] == "Calculating…" and start["toolCallId"] == "call_1"
    assert result == {**result, "toolCallId": "call_1", "name": "calculator", "ok": True, "content": "87.5"}
    assert result["durationMs"] >= 0
    assert events[-1]["finishReason"] == "stop"

    # The first request offered the tools; the second carried the call and its result.
    first, second = llm.chat_requests[-2].body, llm.chat_requests[-1].body
    assert {t["function"]["name"] for t in first["tools"]} == {
        "calculator", "current_time", "search_conversations", "ask_user",
    }  # fmt: skip
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "calculator", "arguments": '{"expression": "12.5 * (3 + 4)"}'}}],
    }  # fmt: skip
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "87.5"}

    # Stored with the reply: a reload shows the tool block.
    saved = events[-2]["message"]
    assert saved["content"] == "It is 87.5." and saved["toolCalls"][0]["content"] == "87.5"
    response = await api.get(f"/api/chats/{tool_chat.public_id}/messages")
    reply = response.json()["messages"][-1]
    assert reply["toolCalls"] == [{
        "id": "call_1", "name": "calculator", "arguments": {"expression": "12.5 * (3 + 4)"}, "label": "Calculating…",
        "ok": True, "content": "87.5", "durationMs": reply["toolCalls"][0]["durationMs"], "step": 1,
        "source": "built-in",
    }]  # fmt: skip


async def test_later_turns_send_earlier_tool_calls_in_openai_shape(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "2+2"})])
    llm.script(tokens=["4"])
    await turn_events(api, tool_chat, "2+2?")
    await turn_events(api, tool_chat, "and again?")
    messages = llm.chat_requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert messages[2]["tool_calls"][0]["function"] == {"name": "calculator", "arguments": '{"expression": "2+2"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "4"}
    assert messages[4] == {"role": "assistant", "content": "4"}


async def test_two_calls_in_one_response_and_progress(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[
        call("calculator", {"expression": "6*7"}, "call_a"), call("current_time", {"timezone": "UTC"}, "call_b"),
    ], argument_piece=2)  # fmt: skip
    llm.script(tokens=["Done."])
    events = await turn_events(api, tool_chat)
    types = [e["type"] for e in events]
    assert types.count("tool_start") == 2 and types.count("tool_result") == 2
    assert [(e["completedSteps"], e["totalSteps"]) for e in events if e["type"] == "execution_progress"] == [
        (1, 2), (2, 2),
    ]  # fmt: skip
    results = {e["toolCallId"]: e for e in events if e["type"] == "tool_result"}
    assert results["call_a"]["content"] == "42" and results["call_b"]["ok"]
    assert "UTC" in results["call_b"]["content"]
    tool_messages = [m for m in llm.chat_requests[-1].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b"]


@pytest.mark.parametrize(
    ("tool_call", "message"),
    [
        (call("calculator", '{"expression": "2+'), "not valid JSON"),
        (call("no_such_tool", {}), "There is no tool named 'no_such_tool'"),
        (call("calculator", {"expression": 42}), "Invalid arguments (expression): 42 is not of type 'string'"),
        (call("calculator", {"expression": "9**9**9"}), "too large"),
        (call("calculator", {"expression": "__import__('os')"}), "Only numbers"),
    ],
)
async def test_broken_calls_become_failed_results_and_the_turn_goes_on(api, tool_chat, llm, tool_call, message):
    llm.script(tokens=[], tool_calls=[tool_call])
    llm.script(tokens=["Sorry."])
    events = await turn_events(api, tool_chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is False and message in result["content"]
    assert events[-1] == {**events[-1], "type": "stream_end", "finishReason": "stop"}
    assert llm.chat_requests[-1].body["messages"][-1]["content"].startswith("Error: ")
    reply = await Message.objects.aget(public_id=events[0]["assistantMessageId"])
    assert reply.status == "complete" and reply.content == "Sorry." and reply.tool_calls[0]["ok"] is False


async def test_the_step_limit_ends_with_an_answer_without_tools(api, tool_chat, llm, settings):
    settings.CHAT_MAX_TOOL_STEPS = 2
    for n in range(2):
        llm.script(tokens=[], tool_calls=[call("calculator", {"expression": f"{n}+1"}, f"call_{n}")])
    llm.script(tokens=["Enough."])
    events = await turn_events(api, tool_chat)
    assert [e["type"] for e in events].count("tool_result") == 2
    requests = llm.chat_requests[-3:]
    assert ["tools" in r.body for r in requests] == [True, True, False]
    assert events[-2]["message"]["content"] == "Enough."


async def test_ask_user_ends_the_turn_with_a_question(api, tool_chat, llm):
    question = {"question": "Which city do you mean?", "options": ["Paris, France", "Paris, Texas"]}
    llm.script(tokens=[], tool_calls=[call("ask_user", question)])
    events = await turn_events(api, tool_chat, "Weather in Paris?")
    types = [e["type"] for e in events]
    assert types == ["stream_start", "status", "clarification_needed", "agent_response", "message_saved", "stream_end"]
    clarification = events[2]
    assert clarification["question"] == "Which city do you mean?"
    assert clarification["options"] == ["Paris, France", "Paris, Texas"]
    assert events[-1]["finishReason"] == "clarification"
    saved = events[-2]["message"]
    assert saved["content"] == "Which city do you mean?" and saved["finishReason"] == "clarification"
    assert saved["clarification"] == {
        "question": "Which city do you mean?",
        "options": ["Paris, France", "Paris, Texas"],
    }
    assert saved["toolCalls"] == []  # the question is the reply, not a tool block
    assert len(llm.chat_requests) == 1  # the model is not called again: the person answers

    # The answer is the next message; the model sees its question and the answer.
    llm.script(tokens=["Sunny."])
    await turn_events(api, tool_chat, "Paris, France")
    messages = llm.chat_requests[-1].body["messages"]
    assert messages[-4]["tool_calls"][0]["function"]["name"] == "ask_user"
    assert messages[-2:] == [
        {"role": "assistant", "content": "Which city do you mean?"},
        {"role": "user", "content": "Paris, France"},
    ]


async def test_non_streaming_response_includes_the_tool_calls(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "10/4"})])
    llm.script(tokens=["2.5"])
    body = {"message": "10/4?", "chatInstanceId": tool_chat.public_id, "stream": False}
    response = await api.post("/api/chat", body, content_type="application/json")
    assert response.status_code == 200
    reply = response.json()["assistantMessage"]
    assert reply["content"] == "2.5" and reply["toolCalls"][0]["content"] == "2.5"


async def test_models_without_tools_are_offered_none(api, chat, llm):
    events = await turn_events(api, chat)
    assert "tools" not in llm.chat_requests[-1].body
    assert events[-1]["finishReason"] == "stop"


async def test_a_model_without_tools_that_calls_one_anyway_runs_nothing(api, chat, llm):
    # Without tools on the model, a stray call is not run: the reply ends as the model left it.
    llm.script(tokens=["Hm."], tool_calls=[call("calculator", {"expression": "1+1"})])
    events = await turn_events(api, chat)
    assert "tool_start" not in [e["type"] for e in events]
    assert events[-2]["message"]["status"] == "complete"


async def test_a_call_repeated_is_not_run_again_and_the_model_answers(api, tool_chat, llm):
    repeated = call("calculator", {"expression": "6*7"})
    llm.script(tokens=[], tool_calls=[repeated])
    llm.script(tokens=[], tool_calls=[{**repeated, "id": "call_2"}])  # the same call again (small models loop)
    llm.script(tokens=["42."])
    events = await turn_events(api, tool_chat)
    assert [e["type"] for e in events].count("tool_start") == 1
    requests = llm.chat_requests[-3:]
    assert ["tools" in r.body for r in requests] == [True, True, False]  # asked to answer with what it has
    assert events[-2]["message"]["content"] == "42." and events[-1]["finishReason"] == "stop"


async def test_a_model_silent_after_its_tools_answers_with_the_first_result(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "6*7"})])
    llm.script(tokens=[], tool_calls=[call("current_time", {}, "call_2")])  # a loop wandering off
    llm.script(tokens=[])  # and nothing in words
    events = await turn_events(api, tool_chat)
    assert events[-2]["message"]["content"] == "42" and events[-1]["finishReason"] == "stop"


async def test_a_model_whose_tools_all_failed_says_so_rather_than_nothing(api, tool_chat, llm):
    llm.script(tokens=[], tool_calls=[call("calculator", {"expression": "6*"})])
    llm.script(tokens=[])
    events = await turn_events(api, tool_chat)
    assert events[-2]["message"]["content"] == "I couldn't find an answer with my tools."


async def test_text_of_two_rounds_is_parted_by_a_blank_line(api, tool_chat, llm):
    llm.script(tokens=["Let me work it out."], tool_calls=[call("calculator", {"expression": "6*7"})])
    llm.script(tokens=["It is 42."])
    events = await turn_events(api, tool_chat)
    assert events[-2]["message"]["content"] == "Let me work it out.\n\nIt is 42."
    assert "".join(e["content"] for e in events if e["type"] == "token") == "Let me work it out.\n\nIt is 42."
