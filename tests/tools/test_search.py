"""Full-text search of a user's own messages (SQLite FTS5; PostgreSQL with a GIN index on the second pass):
``GET /api/search`` and the ``search_conversations`` tool."""

from __future__ import annotations

import pytest
from django.db import connection

from chat.models import ChatInstance, Message
from tests.tools.conftest import call, turn_events

pytestmark = pytest.mark.django_db(transaction=True)


def _chat(owner, chat_model, title: str, *texts: str) -> ChatInstance:
    chat = ChatInstance.objects.create(owner=owner, chat_model=chat_model, title=title)
    for seq, text in enumerate(texts, start=1):
        Message.objects.create(chat=chat, seq=seq, role="user" if seq % 2 else "assistant", content=text)
    return chat


@pytest.fixture
def chats(user, other_user, chat_model):
    mine = _chat(user, chat_model, "Trip planning", "We should visit the aquarium in Lisbon", "The Oceanário is great.")
    _chat(user, chat_model, "Cooking", "How long do I boil an egg?", "About nine minutes for a hard egg.")
    theirs = _chat(other_user, chat_model, "Secret", "My aquarium password is hunter2")
    return mine, theirs


async def test_search_finds_own_messages_by_word_and_prefix(api, chats):
    mine, _ = chats
    response = await api.get("/api/search", {"q": "aquarium"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["chatInstanceId"], r["seq"]) for r in results] == [(mine.public_id, 1)]
    hit = results[0]
    assert hit["chatTitle"] == "Trip planning" and hit["role"] == "user"
    assert "«aquarium»" in hit["snippet"] and hit["createdAt"].endswith("Z")
    prefix = (await api.get("/api/search", {"q": "aqua lisb"})).json()["results"]
    assert [r["seq"] for r in prefix] == [1]
    assert (await api.get("/api/search", {"q": "hunter2"})).json()["results"] == []  # another user's


async def test_the_index_follows_edits_and_deletes(api, chats):
    mine, _ = chats
    message = await Message.objects.aget(chat=mine, seq=2)
    message.content = "The penguins were the best part."
    await message.asave()
    assert [r["seq"] for r in (await api.get("/api/search", {"q": "penguins"})).json()["results"]] == [2]
    assert (await api.get("/api/search", {"q": "Oceanário"})).json()["results"] == []
    await mine.adelete()
    assert (await api.get("/api/search", {"q": "penguins"})).json()["results"] == []


async def test_search_input_is_checked(api, chats):
    assert (await api.get("/api/search")).status_code == 400
    assert (await api.get("/api/search", {"q": "x" * 201})).status_code == 400
    # Query syntax is not passed through: operators and quotes are just words, never an error.
    for query in ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "*", "egg:*", "'); DROP TABLE chat_message; --"]:
        response = await api.get("/api/search", {"q": query})
        assert response.status_code == 200, query


async def test_search_needs_a_user(async_client):
    response = await async_client.get("/api/search", {"q": "egg"})
    assert response.status_code == 401


def test_the_index_is_the_database_full_text_index(transactional_db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'chat_message_fts'")
            assert "fts5" in cursor.fetchone()[0]
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'chat_message_fts_idx'")
            assert "gin" in cursor.fetchone()[0].lower()


async def test_search_conversations_tool_sees_only_the_callers_messages(api, tool_chat, llm, chats):
    llm.script(tokens=[], tool_calls=[call("search_conversations", {"query": "aquarium"})])
    llm.script(tokens=["Found it."])
    events = await turn_events(api, tool_chat, "Where did I want to see fish?")
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is True
    assert "[Trip planning" in result["content"] and "«aquarium»" in result["content"]
    assert "hunter2" not in result["content"] and "Secret" not in result["content"]
