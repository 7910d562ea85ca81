"""The sidebar's search finds chats, one row each: by their titles first, then by their messages, with a
plain-text snippet (the markdown a message was written in is not shown)."""

from __future__ import annotations

import pytest

from chat.domain.search import plain
from chat.models import ChatInstance, Message

pytestmark = pytest.mark.django_db(transaction=True)


async def test_chats_are_found_by_title_and_by_message_once_each(api, user, chat_model, other_user):
    for n in range(3):
        await ChatInstance.objects.acreate(owner=user, chat_model=chat_model, title=f"Bulk chat {n}")
    said = await ChatInstance.objects.acreate(owner=user, chat_model=chat_model, title="Airships")
    for seq, text in enumerate(["The **zeppelin** flew.", "Another *zeppelin* story", "# Zeppelin facts"], 1):
        await Message.objects.acreate(chat=said, seq=seq, role="user", content=text)
    await ChatInstance.objects.acreate(owner=other_user, chat_model=chat_model, title="Bulk chat of someone else")
    bulk = (await api.get("/api/search", {"q": "bulk"})).json()
    assert sorted(hit["chatTitle"] for hit in bulk["chats"]) == ["Bulk chat 0", "Bulk chat 1", "Bulk chat 2"]
    assert all(hit["snippet"] == "" for hit in bulk["chats"]) and bulk["results"] == []
    zeppelin = (await api.get("/api/search", {"q": "zepp"})).json()
    assert [hit["chatTitle"] for hit in zeppelin["chats"]] == ["Airships"]  # one row, three messages
    assert len(zeppelin["results"]) == 3 and not any(
        "*" in r["snippet"] or "#" in r["snippet"] for r in zeppelin["results"]
    )
    assert "«zeppelin»" in zeppelin["chats"][0]["snippet"].lower()


def test_plain_snippets_keep_the_words_and_the_marks():
    assert plain("**«bold»** and `code` and [a «link»](http://x) | cell |") == "«bold» and code and a «link» cell"
    assert plain("## «Heading»\n- item\n> quote") == "«Heading» item quote"
