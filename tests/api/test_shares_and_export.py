"""Shared links (a read-only copy of the active branch, open to anyone with the link, until revoked) and a
person's export of a chat (Markdown: the active branch; JSON: the whole tree, to be brought back in)."""

from __future__ import annotations

import json
import os
import re

import pytest
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile
from django.test import AsyncClient

from chat.domain import sharing
from chat.models import ChatInstance, ChatShare, Feedback, Message
from tests.conftest import post_turn, read_stream
from voice.models import AudioRecording

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("REVIEW-NOTE-SECRET", "FLAG-NOTE-SECRET", "CORRECTED-SECRET", "FEEDBACK-SECRET", "ERROR-DETAIL-SECRET",
           "TOOL-ARGUMENT-SECRET", "TOOL-RESULT-SECRET", "REASONING-SECRET", "SYSTEM-PROMPT-SECRET")  # fmt: skip


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def anonymous():
    """A browser with no session and no token: whoever was sent the link."""
    if os.environ.get("TEST_API_CLIENT") == "asgi":
        from tests.support.asgi_client import ASGIClient

        return ASGIClient()
    return AsyncClient()


async def body_of(response) -> bytes:
    if hasattr(response, "aread"):
        return await response.aread()
    if getattr(response, "streaming", False):
        return b"".join([piece async for piece in response.streaming_content])
    return response.content


async def turn(api, chat, llm, question: str, answer: str, **placement) -> None:
    llm.script(tokens=[answer])
    response = await post_turn(api, chat, question, **placement)
    assert response.status_code == 200, response.content
    await read_stream(response)


async def branch(api, chat) -> list[dict]:
    response = await api.get(f"/api/chats/{chat.public_id}/messages")
    assert response.status_code == 200
    return response.json()["messages"]


async def share(api, chat, **body) -> dict:
    response = await api.post(f"/api/chats/{chat.public_id}/share", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


async def page(share_id: str):
    response = await anonymous().get(f"/s/{share_id}/")
    return response, (await body_of(response)).decode()


def shown_texts(html: str) -> list[str]:
    """The bodies of the page's messages, tags removed."""
    bodies = re.findall(r'<div class="body">(.*?)</div>\s*</article>', html, re.S)
    return [re.sub(r"<[^>]+>", "", body).strip() for body in bodies]


@sync_to_async
def plant_secrets(chat: ChatInstance) -> None:
    """Everything a share must leave out, set on a chat's messages as reviewers, tools and failures do."""
    ChatInstance.objects.filter(pk=chat.pk).update(review_notes=SECRETS[0], system_prompt=SECRETS[8])
    question, reply = Message.objects.filter(chat=chat).order_by("seq")[:2]
    Message.objects.filter(pk=question.pk).update(corrected_content=SECRETS[2])
    tool_call = {
        "id": "call_1", "name": "search_conversations", "arguments": {"query": SECRETS[5]},
        "label": "Searching your conversations…", "ok": True, "content": SECRETS[6], "durationMs": 3,
    }  # fmt: skip
    Message.objects.filter(pk=reply.pk).update(
        flag="wrong_answer", flag_note=SECRETS[1], error_code="upstream_error", error_detail=SECRETS[4],
        reasoning=SECRETS[7], tool_calls=[tool_call], prompt_tokens=12345, completion_tokens=678,
    )  # fmt: skip
    Feedback.objects.create(message=reply, user=chat.owner, rating=-1, comment=SECRETS[3])


async def test_a_share_is_a_public_read_only_page_of_the_active_branch(api, chat, llm):
    await turn(api, chat, llm, "What is the capital of France?", "It is **Paris**.")
    await turn(api, chat, llm, "And of Italy?", "Rome.")
    await ChatInstance.objects.filter(pk=chat.pk).aupdate(title="Capitals")
    await plant_secrets(chat)
    made = await share(api, chat)
    assert made["id"].startswith("sh_") and made["url"] == f"http://testserver/s/{made['id']}/"
    assert (made["title"], made["messageCount"], made["includeRecordings"]) == ("Capitals", 4, False)
    assert made["chatInstanceId"] == chat.public_id and made["createdAt"].endswith("Z")

    response, html = await page(made["id"])
    assert response.status_code == 200
    assert shown_texts(html) == ["What is the capital of France?", "It is Paris.", "And of Italy?", "Rome."]
    assert "It is <strong>Paris</strong>." in html  # replies as sanitised markdown
    assert "Chat server" in html and "<h1>Capitals</h1>" in html and "shared conversation – read only" in html
    assert "✓ search_conversations" in html and "Searching your conversations…" in html
    # Nothing but the conversation: no review, flags, feedback, errors, tokens, tool data, prompt, owner.
    stored = json.dumps((await ChatShare.objects.aget(public_id=made["id"])).messages)
    for secret in SECRETS:
        assert secret not in html and secret not in stored, secret
    assert "12345" not in html and "alice" not in html and "<script" not in html
    # Not indexed, not cached, no referrer, no inline anything, no cookie for the visitor.
    assert response["X-Robots-Tag"].startswith("noindex") and response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert not getattr(response, "cookies", None) and not response.has_header("Set-Cookie")
    # Only read: a POST is refused (by the CSRF check through the real application, else by the view).
    assert (await anonymous().post(f"/s/{made['id']}/")).status_code in (403, 405)


async def test_the_snapshot_does_not_follow_later_messages_edits_or_renames(api, chat, llm):
    await turn(api, chat, llm, "Q1", "A1")
    await turn(api, chat, llm, "Q2", "A2")
    q1, a1, q2, a2 = await branch(api, chat)
    made = await share(api, chat)
    await turn(api, chat, llm, "Q3", "A3")  # a later message
    await turn(api, chat, llm, "Q2 edited", "A2 edited", parentMessageId=a1["id"])  # a new version of Q2
    await api.patch(f"/api/chats/{chat.public_id}", {"title": "Renamed"}, content_type="application/json")
    await Message.objects.filter(public_id=a1["id"]).aupdate(content="A1 changed in place")

    _, html = await page(made["id"])
    assert shown_texts(html) == ["Q1", "A1", "Q2", "A2"]
    assert "Renamed" not in html
    # A new link shows the branch as it is now.
    _, now = await page((await share(api, chat))["id"])
    assert shown_texts(now) == ["Q1", "A1 changed in place", "Q2 edited", "A2 edited"]
    listed = (await api.get(f"/api/chats/{chat.public_id}/shares")).json()["shares"]
    assert [s["messageCount"] for s in listed] == [4, 4] and listed[1]["id"] == made["id"]  # newest first


async def test_revoking_a_link_makes_its_page_a_404(api, chat, llm):
    await turn(api, chat, llm, "Hello", "Hi!")
    made = await share(api, chat)
    assert (await api.get(f"/api/shares/{made['id']}")).json()["id"] == made["id"]
    assert (await api.delete(f"/api/shares/{made['id']}")).status_code == 204
    response, html = await page(made["id"])
    assert response.status_code == 404 and "This page does not exist" in html  # the product's 404 page
    assert response["X-Robots-Tag"].startswith("noindex")
    assert (await api.get(f"/api/shares/{made['id']}")).status_code == 404
    assert (await api.delete(f"/api/shares/{made['id']}")).status_code == 404
    assert (await api.get("/api/shares")).json() == {"shares": []}
    assert (await page("sh_doesnotexist"))[0].status_code == 404


async def test_other_people_get_404_for_a_chat_or_a_link_that_is_not_theirs(api, other_api, chat, llm):
    await turn(api, chat, llm, "Mine", "Yours")
    made = await share(api, chat)
    ci, sh = chat.public_id, made["id"]
    for method, path in [("post", f"/api/chats/{ci}/share"), ("get", f"/api/chats/{ci}/shares"),
                         ("get", f"/api/chats/{ci}/export?format=json"), ("get", f"/api/shares/{sh}"),
                         ("delete", f"/api/shares/{sh}")]:  # fmt: skip
        response = await getattr(other_api, method)(path, {}, content_type="application/json")
        assert response.status_code == 404, (method, path)
    assert (await other_api.get("/api/shares")).json() == {"shares": []}
    assert (await page(sh))[0].status_code == 200  # their DELETE changed nothing
    # Without a token or a session, the API is closed; only the page is open.
    assert (await anonymous().get("/api/shares")).status_code == 401
    assert (await anonymous().post(f"/api/chats/{ci}/share", {}, content_type="application/json")).status_code == 401


async def test_every_share_of_the_caller_is_listed_and_each_chat_lists_its_own(api, chat, chat_model, user, llm):
    await turn(api, chat, llm, "First chat", "Yes")
    second = await ChatInstance.objects.acreate(owner=user, chat_model=chat_model, title="Second")
    await turn(api, second, llm, "Second chat", "Yes")
    one, two = await share(api, chat), await share(api, second, includeRecordings=True)
    everything = (await api.get("/api/shares")).json()["shares"]
    assert [s["id"] for s in everything] == [two["id"], one["id"]]
    assert everything[0] == two and everything[0]["includeRecordings"] is True
    of_second = (await api.get(f"/api/chats/{second.public_id}/shares")).json()["shares"]
    assert [s["id"] for s in of_second] == [two["id"]]


async def test_an_empty_chat_cannot_be_shared_and_links_are_limited(api, chat, llm, monkeypatch):
    response = await api.post(f"/api/chats/{chat.public_id}/share", {}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_chat"
    await turn(api, chat, llm, "Hello", "Hi")
    bad = await api.post(f"/api/chats/{chat.public_id}/share", {"includeRecordings": "maybe"},
                         content_type="application/json")  # fmt: skip
    assert bad.status_code == 400
    monkeypatch.setattr(sharing, "MAX_SHARES", 2)
    first, _ = await share(api, chat), await share(api, chat)
    response = await api.post(f"/api/chats/{chat.public_id}/share", {}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_shares"
    await api.delete(f"/api/shares/{first['id']}")
    await share(api, chat)  # a revoked link frees its place
    assert await ChatShare.objects.acount() == 2


@sync_to_async
def voice_chat(owner, chat_model, *, audio: bytes = b"OggS" + bytes(range(256)) * 4) -> tuple[ChatInstance, Message]:
    """A chat whose first message was spoken, with its recording, and the reply to it."""
    chat = ChatInstance.objects.create(owner=owner, chat_model=chat_model, title="Spoken")
    spoken = Message.objects.create(chat=chat, seq=1, role="user", content="What's the weather?", source="voice")
    AudioRecording.objects.create(
        message=spoken, file=ContentFile(audio, name="a.ogg"), format="ogg", content_type="audio/ogg",
        size_bytes=len(audio), duration_ms=2100, language="en", engine="openai-whisper", model_name="base",
        transcription_ms=300,
    )  # fmt: skip
    reply = Message.objects.create(chat=chat, parent=spoken, seq=2, role="assistant", content="Sunny.")
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=reply)
    chat.active_message = reply
    return chat, spoken


async def test_recordings_are_left_out_unless_included_and_then_heard_only_through_the_link(
    api, other_api, user, other_user, chat_model
):
    chat, spoken = await voice_chat(user, chat_model)
    audio_path = lambda sh: f"/s/{sh}/audio/{spoken.public_id}"  # noqa: E731

    without = await share(api, chat)
    response, html = await page(without["id"])
    assert response.status_code == 200 and "<audio" not in html and "voice" in html
    assert (await anonymous().get(audio_path(without["id"]))).status_code == 404

    included = await share(api, chat, includeRecordings=True)
    _, html = await page(included["id"])
    assert f'<audio controls preload="none" src="{audio_path(included["id"])}"' in html
    heard = await anonymous().get(audio_path(included["id"]))
    assert heard.status_code == 200 and heard["Content-Type"] == "audio/ogg"
    assert await body_of(heard) == b"OggS" + bytes(range(256)) * 4
    assert heard["X-Robots-Tag"].startswith("noindex") and "no-store" in heard["Cache-Control"]
    # The link opens this recording only: not another chat's, not through the owner's URL without a login.
    _, elsewhere = await voice_chat(other_user, chat_model)
    assert (await anonymous().get(f"/s/{included['id']}/audio/{elsewhere.public_id}")).status_code == 404
    assert (await anonymous().get(f"/api/messages/{spoken.public_id}/audio")).status_code == 401
    assert (await other_api.get(f"/api/messages/{spoken.public_id}/audio")).status_code == 404

    await api.delete(f"/api/shares/{included['id']}")
    gone = await anonymous().get(audio_path(included["id"]))
    assert gone.status_code == 404 and b"This page does not exist" in await body_of(gone)


async def tree(api, chat, llm) -> list[dict]:
    """Q1 A1, Q2 A2, then Q2 edited A2' and A2' regenerated as A2'': three branches, the last one active."""
    await turn(api, chat, llm, "Q1", "A1")
    await turn(api, chat, llm, "Q2", "A2")
    q1, a1, *_ = await branch(api, chat)
    await turn(api, chat, llm, "Q2 edited", "A2'", parentMessageId=a1["id"])
    edited_reply = (await branch(api, chat))[-1]
    llm.script(tokens=["A2''"])
    body = {"chatInstanceId": chat.public_id, "regenerateMessageId": edited_reply["id"]}
    await read_stream(await api.post("/api/chat?stream=true", body, content_type="application/json"))
    return await branch(api, chat)


@sync_to_async
def import_back(data: dict, owner, chat_model) -> ChatInstance:
    """What an import of the JSON export does: every message under its parent, the same branch active."""
    chat = ChatInstance.objects.create(owner=owner, chat_model=chat_model, title=data["title"])
    made: dict[str, Message] = {}
    for seq, row in enumerate(data["messages"], start=1):
        parent = made[row["parentId"]] if row["parentId"] else None  # a KeyError: a child before its parent
        made[row["id"]] = Message.objects.create(chat=chat, parent=parent, seq=seq, role=row["role"],
                                                 content=row["content"], status=row["status"])  # fmt: skip
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=made[data["activeMessageId"]])
    return chat


async def test_the_json_export_holds_the_whole_tree_and_imports_back_as_it_was(api, chat, user, chat_model, llm):
    await ChatInstance.objects.filter(pk=chat.pk).aupdate(title="Trip to Lyon, day 2")
    shown = await tree(api, chat, llm)
    await plant_secrets(chat)
    response = await api.get(f"/api/chats/{chat.public_id}/export?format=json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="trip-to-lyon-day-2.json"'
    data = json.loads(await body_of(response))
    assert data["id"] == chat.public_id and data["model"] == chat_model.name and data["version"] == 1
    assert data["activeMessageId"] == shown[-1]["id"]
    stored = [m async for m in Message.objects.filter(chat=chat).order_by("seq").select_related("parent")]
    assert [m["id"] for m in data["messages"]] == [m.public_id for m in stored]  # every version, in order
    assert [m["parentId"] for m in data["messages"]] == [m.parent.public_id if m.parent else None for m in stored]
    for row in data["messages"]:
        assert {"id", "parentId", "role", "content", "createdAt", "model", "status"} <= set(row)
        assert "review" not in row and "flag" not in row
    assert {row["model"] for row in data["messages"] if row["role"] == "assistant"} == {chat_model.name}
    assert SECRETS[0] not in json.dumps(data) and SECRETS[1] not in json.dumps(data)  # the reviewers' own

    copy = await import_back(data, user, chat_model)
    again = await branch(api, copy)
    assert [(m["role"], m["content"]) for m in again] == [(m["role"], m["content"]) for m in shown]
    assert [len(m["siblingIds"]) for m in again] == [len(m["siblingIds"]) for m in shown] == [1, 1, 2, 2]


async def test_the_markdown_export_is_the_active_branch(api, chat, llm):
    await ChatInstance.objects.filter(pk=chat.pk).aupdate(title="Café ☕ notes")
    await tree(api, chat, llm)
    await plant_secrets(chat)
    response = await api.get(f"/api/chats/{chat.public_id}/export?format=markdown")
    assert response.status_code == 200 and response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''caf%C3%A9-notes.md"
    text = (await body_of(response)).decode()
    assert text.startswith("# Café ☕ notes\n")
    said = re.findall(r"^\*\*(User|Assistant)\*\* \(.*?\):\n\n(?:> Tool .*\n\n)*(.*)$", text, re.M)
    assert said == [("User", "Q1"), ("Assistant", "A1"), ("User", "Q2 edited"), ("Assistant", "A2''")]
    for secret in (SECRETS[0], SECRETS[1], SECRETS[2], "flagged"):  # no review, no reviewer's correction
        assert secret not in text
    default = await api.get(f"/api/chats/{chat.public_id}/export")  # Markdown unless asked otherwise
    assert default.status_code == 200 and default["Content-Disposition"].endswith(".md")


async def test_export_refuses_an_unknown_format_and_an_unknown_chat(api, chat):
    response = await api.get(f"/api/chats/{chat.public_id}/export?format=pdf")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_value"
    assert (await api.get("/api/chats/ci_nope/export?format=json")).status_code == 404
    untitled = await api.get(f"/api/chats/{chat.public_id}/export?format=md")
    assert untitled["Content-Disposition"] == 'attachment; filename="chat.md"'


def test_the_admin_lists_links_read_only(admin_client, user, chat_model):
    chat = ChatInstance.objects.create(owner=user, chat_model=chat_model, title="Shared one")
    reply = Message.objects.create(chat=chat, seq=1, role="user", content="Hello")
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=reply)
    made = sharing.share_create(user=user, chat_id=chat.public_id)
    listing = admin_client.get("/admin/chat/chatshare/")
    html = listing.content.decode()
    assert listing.status_code == 200 and made.public_id in html and "Shared one" in html and "alice" in html
    assert f'href="/s/{made.public_id}/"' in html
    detail = admin_client.get(f"/admin/chat/chatshare/{made.pk}/change/")
    assert detail.status_code == 200 and 'name="title"' not in detail.content.decode()  # nothing to edit
    assert admin_client.get("/admin/chat/chatshare/add/").status_code == 403
