"""A conversation is a tree: edit and resend, regenerate, continue, switch branch, delete; the system
prompt of a chat; presets; pinned and archived chats. Every door reads the active branch."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.domain.services import turn_begin
from chat.models import ChatInstance, ChatModel, Message
from tests.conftest import post_turn, read_stream
from tests.support.websocket import receive_until, socket

pytestmark = pytest.mark.django_db(transaction=True)


async def turn(api, chat, message="Hi", **extra) -> list[dict]:
    response = await post_turn(api, chat, message, **extra)
    assert response.status_code == 200, response.content
    events, _ = await read_stream(response)
    return events


async def again(api, chat, **placement) -> tuple[int, list[dict]]:
    """A turn that writes no new question: regenerate or continue."""
    body = {"chatInstanceId": chat.public_id, **placement}
    response = await api.post("/api/chat?stream=true", body, content_type="application/json")
    if response.status_code != 200:
        return response.status_code, [response.json()]
    events, _ = await read_stream(response)
    return 200, events


async def branch(api, chat) -> list[dict]:
    response = await api.get(f"/api/chats/{chat.public_id}/messages")
    assert response.status_code == 200
    return response.json()["messages"]


async def long_reply_streaming(api, chat, llm, message: str) -> asyncio.Task:
    """A turn whose reply is still streaming when this returns (the task ends with the turn)."""
    llm.script(tokens=[f"t{i} " for i in range(100)], delay=0.02)
    streaming = asyncio.create_task(turn(api, chat, message))
    for _ in range(100):
        if await Message.objects.filter(chat=chat, status="streaming").aexists():
            break
        await asyncio.sleep(0.02)
    return streaming


def texts(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages]


def sent_upstream(llm) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in llm.chat_requests[-1].body["messages"] if m["role"] != "system"]


async def two_exchanges(api, chat, llm) -> list[dict]:
    llm.script(tokens=["A1"])
    await turn(api, chat, "Q1")
    llm.script(tokens=["A2"])
    await turn(api, chat, "Q2")
    return await branch(api, chat)


async def test_plain_turns_make_one_branch(api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    assert [m["parentId"] for m in (q1, a1, q2, a2)] == [None, q1["id"], a1["id"], q2["id"]]
    assert all(m["siblingIds"] == [m["id"]] for m in (q1, a1, q2, a2))
    detail = (await api.get(f"/api/chats/{chat.public_id}")).json()
    assert detail["activeMessageId"] == a2["id"]


async def test_edit_and_resend_makes_a_version_of_the_question(api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    llm.script(tokens=["A2 edited"])
    events = await turn(api, chat, "Q2 edited", parentMessageId=a1["id"])
    assert events[0]["type"] == "stream_start" and events[0]["continues"] is False
    # The model sees the branch the new question is on, not the version it replaces.
    assert sent_upstream(llm) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2 edited")]
    now = await branch(api, chat)
    assert texts(now) == ["Q1", "A1", "Q2 edited", "A2 edited"]
    assert now[2]["parentId"] == a1["id"] and now[2]["siblingIds"] == [q2["id"], now[2]["id"]]
    saved = next(e for e in events if e["type"] == "message_saved")["message"]
    assert saved["parentId"] == now[2]["id"] and saved["siblingIds"] == [saved["id"]]
    # The next plain message follows the new branch; seq keeps growing across branches.
    llm.script(tokens=["A3"])
    await turn(api, chat, "Q3")
    assert sent_upstream(llm)[-2:] == [("assistant", "A2 edited"), ("user", "Q3")]
    assert [m["seq"] for m in await branch(api, chat)] == [1, 2, 5, 6, 7, 8]


async def test_editing_the_first_question_starts_a_new_root(api, chat, llm):
    q1, *_ = await two_exchanges(api, chat, llm)
    llm.script(tokens=["B1"])
    await turn(api, chat, "Q1 again", parentMessageId=None)
    assert sent_upstream(llm) == [("user", "Q1 again")]
    now = await branch(api, chat)
    assert texts(now) == ["Q1 again", "B1"]
    assert now[0]["parentId"] is None and now[0]["siblingIds"] == [q1["id"], now[0]["id"]]


async def test_regenerate_streams_a_new_version_of_the_reply(api, chat, llm, transactional_db):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    other = await ChatModel.objects.acreate(
        name="Other", provider="openai", base_url=llm.base_url, upstream_model="other-upstream"
    )
    llm.script(tokens=["A2 again"])
    status, events = await again(api, chat, regenerateMessageId=a2["id"], chatModelId=other.public_id)
    assert status == 200
    start = events[0]
    assert start["userMessage"]["id"] == q2["id"] and start["model"] == other.public_id
    assert llm.chat_requests[-1].body["model"] == "other-upstream"
    assert sent_upstream(llm) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]
    now = await branch(api, chat)
    assert texts(now) == ["Q1", "A1", "Q2", "A2 again"]
    assert now[3]["siblingIds"] == [a2["id"], now[3]["id"]] and now[3]["parentId"] == q2["id"]
    assert await Message.objects.filter(chat=chat, role="user").acount() == 2  # no new question


async def test_continue_goes_on_from_a_reply_cut_at_its_length(api, chat, llm):
    llm.script(tokens=["Once ", "upon"], finish_reason="length")
    await turn(api, chat, "Tell a story")
    q, cut = await branch(api, chat)
    assert cut["finishReason"] == "length"
    llm.script(tokens=[" a time."])
    status, events = await again(api, chat, continueMessageId=cut["id"])
    assert status == 200
    assert events[0]["assistantMessageId"] == cut["id"] and events[0]["continues"] is True
    assert "".join(e["content"] for e in events if e["type"] == "token") == " a time."
    saved = next(e for e in events if e["type"] == "message_saved")["message"]
    assert saved["content"] == "Once upon a time." and saved["status"] == "complete"
    assert saved["seq"] == 3  # written again, as the chat's newest message
    # The model was asked to go on from the reply's text.
    assert sent_upstream(llm) == [("user", "Tell a story"), ("assistant", "Once upon")]
    assert texts(await branch(api, chat)) == ["Tell a story", "Once upon a time."]


async def test_only_stopped_or_cut_replies_continue(api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    status, [body] = await again(api, chat, continueMessageId=a2["id"])
    assert status == 409 and body["error"]["code"] == "cannot_continue"
    status, [body] = await again(api, chat, regenerateMessageId=q2["id"])
    assert status == 400 and body["error"]["code"] == "not_a_reply"
    status, [body] = await again(api, chat, regenerateMessageId="msg_nope")
    assert status == 404 and body["error"]["code"] == "message_not_found"
    response = await post_turn(api, chat, "x", regenerateMessageId=a2["id"])
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_field"
    response = await post_turn(api, chat, "x", parentMessageId="msg_nope")
    assert response.status_code == 404
    response = await post_turn(api, chat, "x", parentMessageId=a1["id"], regenerateMessageId=a2["id"])
    assert response.status_code == 400
    assert await Message.objects.filter(chat=chat).acount() == 4  # nothing saved by a refused turn


async def test_switching_branch_shows_the_newest_leaf_through_a_message(api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    llm.script(tokens=["A2 edited"])
    await turn(api, chat, "Q2 edited", parentMessageId=a1["id"])
    response = await api.patch(
        f"/api/chats/{chat.public_id}", {"activeMessageId": q2["id"]}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["activeMessageId"] == a2["id"]
    assert texts(await branch(api, chat)) == ["Q1", "A1", "Q2", "A2"]
    llm.script(tokens=["A3"])
    await turn(api, chat, "Q3")  # follows the branch switched to
    assert sent_upstream(llm) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2"),
                                  ("user", "Q3")]  # fmt: skip
    response = await api.patch(
        f"/api/chats/{chat.public_id}", {"activeMessageId": "msg_nope"}, content_type="application/json"
    )
    assert response.status_code == 404


async def test_delete_removes_a_message_and_what_follows(api, other_api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    llm.script(tokens=["A2 edited"])
    await turn(api, chat, "Q2 edited", parentMessageId=a1["id"])
    edited = (await branch(api, chat))[2]
    assert (await other_api.delete(f"/api/messages/{edited['id']}")).status_code == 404
    assert (await api.delete(f"/api/messages/{edited['id']}")).status_code == 204
    # The active branch falls back to the remaining version.
    assert texts(await branch(api, chat)) == ["Q1", "A1", "Q2", "A2"]
    assert (await api.delete(f"/api/messages/{q2['id']}")).status_code == 204
    assert texts(await branch(api, chat)) == ["Q1", "A1"]
    assert await Message.objects.filter(chat=chat).acount() == 2
    assert (await api.delete(f"/api/messages/{q2['id']}")).status_code == 404


async def test_delete_is_refused_while_a_reply_after_it_streams(api, chat, llm):
    llm.script(tokens=["A1"])
    await turn(api, chat, "Q1")
    q1, _ = await branch(api, chat)
    streaming = await long_reply_streaming(api, chat, llm, "Q2")
    response = await api.delete(f"/api/messages/{q1['id']}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "chat_busy"
    await api.post(f"/api/chats/{chat.public_id}/stop", {}, content_type="application/json")
    await streaming
    assert await Message.objects.filter(chat=chat).acount() == 4


async def test_a_chats_system_prompt_replaces_the_models(api, chat, llm):
    response = await api.patch(
        f"/api/chats/{chat.public_id}", {"systemPrompt": "Answer in French.", "temperature": 1.2},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["systemPrompt"] == "Answer in French." and response.json()["temperature"] == 1.2
    await turn(api, chat, "Hello")
    body = llm.chat_requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert body["temperature"] == 1.2
    await api.patch(f"/api/chats/{chat.public_id}", {"systemPrompt": "", "temperature": None},
                    content_type="application/json")  # fmt: skip
    await turn(api, chat, "Hello again")
    body = llm.chat_requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "You are a test assistant."}
    assert body["temperature"] == 0.3
    for bad in ({"temperature": 3}, {"temperature": "hot"}, {"systemPrompt": 5}, {"pinned": "yes"}):
        response = await api.patch(f"/api/chats/{chat.public_id}", bad, content_type="application/json")
        assert response.status_code == 400, bad


async def test_presets_start_chats(api, other_api, chat_model, llm):
    response = await api.post(
        "/api/presets",
        {"name": "Pirate", "systemPrompt": "Talk like a pirate.", "chatModelId": chat_model.public_id,
         "temperature": 0.9},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201
    preset = response.json()
    assert (preset["name"], preset["chatModelId"], preset["temperature"]) == ("Pirate", chat_model.public_id, 0.9)
    assert [p["id"] for p in (await api.get("/api/presets")).json()["presets"]] == [preset["id"]]
    assert (await other_api.get(f"/api/presets/{preset['id']}")).status_code == 404
    response = await api.post("/api/chats", {"presetId": preset["id"]}, content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    assert created["systemPrompt"] == "Talk like a pirate." and created["chatModelId"] == chat_model.public_id
    chat = await ChatInstance.objects.select_related("chat_model").aget(public_id=created["id"])
    await turn(api, chat, "Ahoy")
    assert llm.chat_requests[-1].body["messages"][0]["content"] == "Talk like a pirate."
    response = await api.patch(f"/api/presets/{preset['id']}", {"name": "Captain"}, content_type="application/json")
    assert response.json()["name"] == "Captain" and response.json()["systemPrompt"] == "Talk like a pirate."
    assert (await api.post("/api/presets", {"name": " "}, content_type="application/json")).status_code == 400
    assert (await api.post("/api/chats", {"presetId": "pr_nope"}, content_type="application/json")).status_code == 404
    assert (await api.delete(f"/api/presets/{preset['id']}")).status_code == 204
    assert (await api.get("/api/presets")).json()["presets"] == []


async def test_pinned_chats_come_first_and_archived_ones_apart(api, user, chat_model):
    chats = [await ChatInstance.objects.acreate(owner=user, chat_model=chat_model, title=f"c{i}") for i in range(5)]
    await api.patch(f"/api/chats/{chats[1].public_id}", {"pinned": True}, content_type="application/json")
    await api.patch(f"/api/chats/{chats[3].public_id}", {"archived": True}, content_type="application/json")
    listed = (await api.get("/api/chats?limit=2")).json()
    titles = [c["title"] for c in listed["chats"]]
    more = (await api.get(f"/api/chats?limit=2&before={listed['nextBefore']}")).json()
    titles += [c["title"] for c in more["chats"]]
    assert titles == ["c1", "c4", "c2", "c0"]
    archived = (await api.get("/api/chats?archived=1")).json()["chats"]
    assert [c["title"] for c in archived] == ["c3"] and archived[0]["archived"] is True


async def test_other_tabs_learn_of_edits_switches_and_deletions(api, chat, token, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    llm.script(tokens=["A2 edited"])
    await turn(api, chat, "Q2 edited", parentMessageId=a1["id"])
    received = await receive_until(ws, lambda e: e["type"] == "stream_end")
    question = next(e["message"] for e in received if e["type"] == "message_saved")
    assert question["parentId"] == a1["id"] and question["siblingIds"] == [q2["id"], question["id"]]
    await api.patch(f"/api/chats/{chat.public_id}", {"activeMessageId": q2["id"]}, content_type="application/json")
    changed = await receive_until(ws, lambda e: e["type"] == "chat_updated")
    assert changed[-1]["chat"]["activeMessageId"] == a2["id"]
    await api.delete(f"/api/messages/{q2['id']}")
    deleted = await receive_until(ws, lambda e: e["type"] == "chat_updated")
    assert deleted[-1]["deletedMessageId"] == q2["id"]
    assert deleted[-1]["chat"]["activeMessageId"] != a2["id"]
    await ws.disconnect()


async def test_a_plain_turn_reads_the_same_whatever_the_branch_length(user, chat, transactional_db):
    """The tree costs a turn no query per message: the same statements on a 200-message branch as on 2."""

    def count(messages: int) -> int:
        parent = chat.active_message
        for seq in range(Message.objects.filter(chat=chat).count() + 1, messages + 1):
            parent = Message.objects.create(chat=chat, parent=parent, seq=seq, role="user" if seq % 2 else "assistant",
                                            content=f"m{seq}")  # fmt: skip
        ChatInstance.objects.filter(pk=chat.pk).update(active_message=parent)
        with CaptureQueriesContext(connection) as queries:
            begun = turn_begin(user=user, chat_id=chat.public_id, model_id=None, content="next")
        Message.objects.filter(pk=begun.assistant_message.pk).update(status="complete")
        assert begun.history[-1]["content"] == f"m{messages}"
        return len([q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    small = await sync_to_async(count)(2)
    large = await sync_to_async(count)(200)
    assert small == large


async def test_switching_branch_waits_for_the_streaming_reply(api, chat, llm):
    q1, a1, q2, a2 = await two_exchanges(api, chat, llm)
    streaming = await long_reply_streaming(api, chat, llm, "Q3")
    response = await api.patch(
        f"/api/chats/{chat.public_id}", {"activeMessageId": q1["id"]}, content_type="application/json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "chat_busy"
    await api.post(f"/api/chats/{chat.public_id}/stop", {}, content_type="application/json")
    await streaming


async def test_messages_written_without_their_tree_still_show_and_are_followed(api, chat, llm):
    """Rows written directly (not by a turn) have no parents: the chat shows its newest message, and the next
    turn follows it."""
    await Message.objects.acreate(chat=chat, seq=1, role="user", content="Old question")
    await Message.objects.acreate(chat=chat, seq=2, role="assistant", content="Old answer")
    assert texts(await branch(api, chat)) == ["Old answer"]
    llm.script(tokens=["New"])
    await turn(api, chat, "New question")
    assert sent_upstream(llm) == [("assistant", "Old answer"), ("user", "New question")]
    assert texts(await branch(api, chat)) == ["Old answer", "New question", "New"]


async def test_a_tab_that_saw_a_reply_stop_follows_its_continuation(api, chat, token, llm):
    ws = socket(chat.public_id, token=token)
    assert (await ws.connect())[0]
    llm.script(tokens=["Once ", "upon"], finish_reason="length")
    await turn(api, chat, "Tell a story")
    await receive_until(ws, lambda e: e["type"] == "stream_end")  # the tab saw the reply's first turn
    cut = (await branch(api, chat))[-1]
    llm.script(tokens=[" a ", "time."], delay=0.02)
    status, _ = await again(api, chat, continueMessageId=cut["id"])
    assert status == 200
    received = await receive_until(ws, lambda e: e["type"] == "stream_end")
    start = next(e for e in received if e["type"] == "stream_start")
    assert start["continues"] is True and start["assistantMessageSeq"] == 3
    assert "".join(e["content"] for e in received if e["type"] == "token") == " a time."
    await ws.disconnect()
