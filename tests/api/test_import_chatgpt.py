"""Importing ChatGPT's export (POST /api/imports, manage.py import_chats): conversations become chats with
their branches, their times and the branch the person was on; a bad or hostile file gets a 4xx and imports
nothing; a large export is read a conversation at a time."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from chat.domain import importing
from chat.domain.importing import chats_import
from chat.models import ChatInstance, ChatModel, Message

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt" / "conversations.json"
T0 = 1_700_000_000.0


@pytest.fixture
def default_model(transactional_db) -> ChatModel:
    return ChatModel.objects.create(name="imports-default", provider="openai", base_url="http://127.0.0.1:9/v1",
                                    is_default=True)  # fmt: skip


@pytest.fixture
def each_chat_written_at_once(monkeypatch):
    """Every conversation is written as soon as it is read, so a refusal after it must roll it back."""
    monkeypatch.setattr(importing, "BATCH_MESSAGES", 1)


def upload(data: bytes, name: str = "conversations.json") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


async def post_import(api, data: bytes, name: str = "conversations.json", **fields: str):
    return await api.post("/api/imports", {"file": upload(data, name), **fields})


def node(node_id: str, parent: str | None, role: str = "user", text: str = "Hello", time: float | None = T0,
         **message: Any) -> dict[str, Any]:  # fmt: skip
    """A node of ``mapping`` as the export writes it."""
    body = {
        "id": node_id,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": time,
        "update_time": None,
        "content": {"content_type": "text", "parts": [text]},
        "status": "finished_successfully",
        "weight": 1.0,
        "metadata": {},
        "recipient": "all",
        "channel": None,
        **message,
    }
    return {"id": node_id, "message": body, "parent": parent, "children": []}


def conversation(title: str = "Trip plan", nodes: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    """A conversation: a root with no message, then ``nodes`` (by default a question and its answer)."""
    nodes = nodes or [node("q", "root", "user", "Where to?"), node("a", "q", "assistant", "Lisbon.", T0 + 1)]
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
    mapping |= {n["id"]: n for n in nodes}
    return {"title": title, "create_time": T0, "update_time": T0 + 60, "mapping": mapping,
            "current_node": nodes[-1]["id"], "id": f"conv-{title}", **extra}  # fmt: skip


def export(*conversations: dict) -> bytes:
    return json.dumps(list(conversations), ensure_ascii=False).encode()


async def branch_of(api, chat_id: str) -> list[dict]:
    response = await api.get(f"/api/chats/{chat_id}/messages")
    assert response.status_code == 200
    return response.json()["messages"]


def when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def nothing_imported() -> bool:
    return await ChatInstance.objects.acount() == 0 and await Message.objects.acount() == 0


# --- The fixture: a real export's shapes ---------------------------------------------------------------


async def test_the_export_becomes_chats_with_their_branches_times_and_titles(api, default_model):
    response = await post_import(api, FIXTURE.read_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["imported"], body["messages"], body["skipped"]) == (3, 11, 1)  # the entry with no mapping: out
    chats = {chat["title"]: chat for chat in body["chats"]}
    assert set(chats) == {"Lisbon in März ☕", "Why is my plant yellow? 🌿", "日本語の練習"}
    lisbon = chats["Lisbon in März ☕"]
    assert (lisbon["createdAt"], lisbon["updatedAt"]) == (when(1710000000.123456), when(1710000400.5))
    assert lisbon["chatModelId"] == default_model.public_id

    # The branch of current_node: the regenerated answer, then the edited follow-up and its answer.
    messages = await branch_of(api, lisbon["id"])
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Plan three days in Lisbon in März — I love café culture ☕"),
        ("assistant", "A slower plan: Baixa and a bica at A Brasileira, then Príncipe Real; Belém; a tram 28 ride."),
        ("user", "What about a day trip to Sintra? 🏰"),
        ("assistant", "Take the train from Rossio (about 40 minutes) and book Pena Palace for 09:30, when it opens."),
    ]
    assert lisbon["activeMessageId"] == messages[-1]["id"]
    assert [len(m["siblingIds"]) for m in messages] == [1, 2, 2, 1]  # two answers to the first question, two
    assert messages[1]["siblingIds"][1] == messages[1]["id"]  # follow-ups; the versions oldest first
    assert [m["parentId"] for m in messages] == [None, messages[0]["id"], messages[1]["id"], messages[2]["id"]]
    # seq is the order of writing: the first answer (2) and the first follow-up and its answer (4, 5) are off
    # this branch.
    assert [m["seq"] for m in messages] == [1, 3, 6, 7]
    assert [m["createdAt"] for m in messages] == [when(t) for t in (1710000001.25, 1710000100.0, 1710000300.0,
                                                                     1710000312.75)]  # fmt: skip
    assert {m["status"] for m in messages} == {"complete"}
    # The model's thoughts are the reply's reasoning; the search it ran, the tool's output, the reasoning
    # summary ("Thought for 4s"), the system message and the custom instructions are not messages.
    assert messages[3]["reasoning"] == (
        "Checking the train to Sintra\n\nTrains leave Rossio station about every 20 minutes; the ride is roughly "
        "40 minutes."
    )
    stored = [m.content async for m in Message.objects.filter(chat__public_id=lisbon["id"])]
    assert len(stored) == 7
    assert not [text for text in stored if "search_query" in text or "Porto" in text or "Thought for" in text]


async def test_the_other_versions_are_there_to_switch_to(api, default_model):
    body = (await post_import(api, FIXTURE.read_bytes())).json()
    lisbon = next(chat for chat in body["chats"] if chat["title"].startswith("Lisbon"))
    first_answer = (await branch_of(api, lisbon["id"]))[1]["siblingIds"][0]
    switched = await api.patch(f"/api/chats/{lisbon['id']}", {"activeMessageId": first_answer},
                               content_type="application/json")  # fmt: skip
    assert switched.status_code == 200
    assert [m["content"][:6] for m in await branch_of(api, lisbon["id"])] == ["Plan t", "Day 1:"]


async def test_images_voice_tool_calls_and_missing_times(api, default_model):
    body = (await post_import(api, FIXTURE.read_bytes())).json()
    chats = {chat["title"]: chat for chat in body["chats"]}
    plant = await branch_of(api, chats["Why is my plant yellow? 🌿"]["id"])
    # An image is marked where it was; a reply, its code run and its text after the run are one reply.
    assert [m["content"] for m in plant] == [
        "[Image]\n\nWhat plant is this? Its leaves are turning yellow.",
        "That is a pothos. Let me estimate how much of the leaf area is yellow.\n\nAbout 20% of the leaves are "
        "yellow: water less often and give it more light.",
    ]
    japanese = chats["日本語の練習"]
    lesson = await branch_of(api, japanese["id"])
    # A voice message is its transcript; an empty reply is left out and what followed it attached above it; no
    # create_time: the conversation's; no update_time: the last message's.
    assert [(m["role"], m["content"]) for m in lesson] == [
        ("user", "「ありがとう」はどう使いますか？"),
        ("assistant", "「ありがとう」は友達に、「ありがとうございます」は丁寧に使います。"),
    ]
    assert [m["createdAt"] for m in lesson] == [when(1720000000.0), when(1720000005.0)]
    assert japanese["updatedAt"] == when(1720000005.0)


async def test_imported_chats_are_the_callers_alone(api, other_api, default_model):
    body = (await post_import(api, FIXTURE.read_bytes())).json()
    assert (await other_api.get(f"/api/chats/{body['chats'][0]['id']}")).status_code == 404
    listed = (await api.get("/api/chats")).json()["chats"]
    assert {chat["id"] for chat in listed} == {chat["id"] for chat in body["chats"]}


async def test_seq_follows_the_times_but_never_puts_a_message_before_the_one_it_follows(api, default_model):
    # An answer stamped before its question (exports have these) still comes after it; versions by time.
    nodes = [
        node("q", "root", "user", "Q", T0 + 10),
        node("late", "q", "assistant", "written second", T0 + 30),
        node("early", "q", "assistant", "written first", T0 + 5),
    ]
    body = (await post_import(api, export(conversation(nodes=nodes, current_node="late")))).json()
    messages = await branch_of(api, body["chats"][0]["id"])
    assert [(m["content"], m["seq"]) for m in messages] == [("Q", 1), ("written second", 3)]
    versions = [m.content async for m in Message.objects.filter(parent__content="Q").order_by("seq")]
    assert versions == ["written first", "written second"]


def test_a_long_conversation_takes_a_few_statements(user, default_model):
    # 3,000 messages one after another, and a version of the first reply: no recursion, no query per message.
    nodes = [node("m0", "root", "user", "Start", T0)]
    nodes += [node(f"m{i}", f"m{i - 1}", ("user", "assistant")[i % 2], f"Message {i}", T0 + i) for i in range(1, 3000)]
    nodes.append(node("other", "m0", "assistant", "Another first reply", T0 + 5000))
    with CaptureQueriesContext(connection) as queries:
        result = chats_import(user=user, source=io.BytesIO(export(conversation(nodes=nodes, current_node="m2999"))),
                              name="conversations.json")  # fmt: skip
    assert result.messages == 3001
    assert len(queries) < 150, len(queries)
    chat = result.chats[0]
    assert Message.objects.get(pk=chat.active_message_id).content == "Message 2999"
    assert [m.content for m in Message.objects.filter(chat=chat, parent__content="Start").order_by("seq")] == [
        "Message 1", "Another first reply"
    ]  # fmt: skip
    assert Message.objects.filter(chat=chat, parent__isnull=True).count() == 1


async def test_a_zip_of_the_whole_export_and_a_sharded_one(api, default_model, monkeypatch):
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.writestr("conversations.json", FIXTURE.read_bytes())
        archive.writestr("file-abc-sanitized.jpg", b"\xff\xd8\xff")
    response = await post_import(api, whole.getvalue(), "export.zip")
    assert response.status_code == 201 and response.json()["imported"] == 3
    shards = io.BytesIO()
    with zipfile.ZipFile(shards, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/conversations-001.json", export(conversation("Second")))
        archive.writestr("export/conversations-000.json", export(conversation("First")))
    response = await post_import(api, shards.getvalue(), "export.zip")
    assert response.status_code == 201
    assert [chat["title"] for chat in response.json()["chats"]] == ["First", "Second"]
    with monkeypatch.context() as writing:  # a Zip64 archive, as writers of large or many files make them
        writing.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        zip64 = _zip({"conversations.json": export(conversation("Zip64"))})
    response = await post_import(api, zip64, "export.zip")
    assert response.status_code == 201 and response.json()["chats"][0]["title"] == "Zip64"


async def test_text_no_database_stores_is_made_storable(api, default_model):
    # A NUL (PostgreSQL refuses it) and a lone surrogate (no UTF-8 database stores one), as JSON escapes.
    data = export(conversation("Odd \\ud800 title", nodes=[node("q", "root", text="a\\u0000b\\udc00c")]))
    data = data.replace(b"\\\\", b"\\")
    response = await post_import(api, data)
    assert response.status_code == 201, response.content
    assert response.json()["chats"][0]["title"] == "Odd \ufffd title"
    assert [m["content"] for m in await branch_of(api, response.json()["chats"][0]["id"])] == ["a\ufffdb\ufffdc"]


def test_the_command_imports_a_file_for_a_user(user, default_model, tmp_path):
    out = io.StringIO()
    call_command("import_chats", "--format", "chatgpt", str(FIXTURE), "--user", "alice", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    assert out.getvalue().strip() == "Imported 3 chats (11 messages) for alice"
    assert ChatInstance.objects.filter(owner=user).count() == 3
    bad = tmp_path / "conversations.json"
    bad.write_bytes(export(conversation("Fine"), {"title": "Broken", "mapping": []}))
    with pytest.raises(CommandError, match=r"conversations.json: conversation 2 \('Broken'\): its 'mapping' is not"):
        call_command("import_chats", str(bad), "--user", "alice")
    with pytest.raises(CommandError, match="No such user: nobody"):
        call_command("import_chats", str(FIXTURE), "--user", "nobody")
    assert ChatInstance.objects.count() == 3


# --- Bad and hostile files: a 4xx, and nothing imported ------------------------------------------------


def _cycle() -> dict:
    return conversation(nodes=[node("q", "root"), node("x", "y"), node("y", "x")], current_node="q")


def _deep() -> bytes:
    depth = 10_000
    return b'[{"title": "Deep", "mapping": {"root": {"message": null, "parent": null, "metadata": ' + \
        b"[" * depth + b"]" * depth + b"}}}]"  # fmt: skip


BAD_FILES = {
    "not JSON": (b"Hello, this is not an export", 400, "it is not JSON"),
    "an HTML page": (b"<!DOCTYPE html><html><body>chat.html</body></html>", 400, "it is not JSON"),
    "empty": (b"", 400, "the file is empty"),
    "an object": (b'{"conversations": []}', 400, "it is a JSON object"),
    "no conversations": (b"[]", 400, "nothing to import"),
    "truncated": (FIXTURE.read_bytes()[: len(FIXTURE.read_bytes()) // 2], 400, "cut short"),
    "cut after a conversation": (export(conversation())[:-1], 400, "cut short"),
    "more after the array": (export(conversation()) + b' {"x": 1}', 400, "more after the array"),
    "a trailing comma": (export(conversation())[:-1] + b", ]", 400, "not valid JSON"),
    "not UTF-8": (export(conversation("Caf\u00e9")).replace("é".encode(), b"\xe9"), 400, "not UTF-8"),
    "NaN": (export(conversation()).replace(b'"create_time": 1700000000.0', b'"create_time": NaN', 1), 400,
            "not valid JSON"),
    "a cycle in parent links": (export(conversation("Fine"), _cycle()), 400, "go round in a cycle"),
    "a missing parent": (export(conversation("Fine"), conversation(nodes=[node("abc", "nope")])), 400,
                         "conversation 2 ('Trip plan'): node 'abc' has a parent that does not exist ('nope')"),
    "10,000-deep nesting": (_deep(), 400, "nested too deeply"),
    "a dangling current_node": (export(conversation(current_node="gone")), 400, "current_node 'gone' is not"),
    "mapping a list": (export({"title": "T", "mapping": []}), 400, "'mapping' is not an object"),
    "a conversation a string": (export("hello"), 400, "conversation 1: it is not a JSON object"),
    "title a number": (export(conversation(title=None) | {"title": 7}), 400, "'title' is not a string"),
    "parent a number": (export(conversation(nodes=[node("q", 5)])), 400, "has a parent that is not a node id"),
    "parts a string": (export(conversation(nodes=[node("q", "root", content={"content_type": "text",
                                                                               "parts": "Hi"})])), 400,
                       "'parts' is not a list"),  # fmt: skip
    "create_time a string": (export(conversation(nodes=[node("q", "root", time="yesterday")])), 400,
                             "'create_time' is not a number"),  # fmt: skip
    "no author": (export(conversation(nodes=[node("q", "root", author=None)])), 400, "has no author role"),
    "a time out of range": (export(conversation(create_time=1e30)), 400, "'create_time' is not a time"),
}  # fmt: skip


@pytest.mark.usefixtures("each_chat_written_at_once")
async def test_a_bad_file_is_refused_and_imports_nothing(api, default_model):
    # One test for them all: a transactional test's teardown costs most of a second on PostgreSQL.
    for case, (data, status, message) in BAD_FILES.items():
        response = await post_import(api, data)
        assert (response.status_code, case) == (status, case), response.content
        assert message in response.json()["error"]["message"], case
        assert await nothing_imported(), case


@pytest.mark.usefixtures("each_chat_written_at_once")
async def test_the_limits_are_refused_with_413(api, default_model, settings, monkeypatch):
    settings.IMPORT_MAX_CHATS = 2
    response = await post_import(api, export(conversation("A"), conversation("B"), conversation("C")))
    assert response.status_code == 413 and "more than 2 conversations" in response.json()["error"]["message"]
    settings.IMPORT_MAX_MESSAGES = 3
    response = await post_import(api, export(conversation(nodes=[node(f"n{i}", "root") for i in range(5)])))
    assert response.status_code == 413 and "the limit is 3" in response.json()["error"]["message"]
    settings.IMPORT_MAX_MESSAGE_CHARS = 1000
    response = await post_import(api, export(conversation(nodes=[node("q", "root", text="x" * 5000)])))
    assert response.status_code == 413 and "a message has 5,000 characters" in response.json()["error"]["message"]
    # A huge string: refused once the conversation it is in passes the most one may take, never held whole.
    monkeypatch.setattr(importing, "CHAT_MAX_BYTES", 256 * 1024)
    huge = export(conversation("Fine"), conversation(nodes=[node("q", "root", text="y" * 4_000_000)]))
    response = await post_import(api, huge)
    assert response.status_code == 413, response.content
    assert "conversation 2: it is larger than 262 kB" in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "import_too_large"
    assert await nothing_imported()


async def test_a_file_over_the_size_limit_is_refused(api, default_model, settings):
    settings.IMPORT_MAX_BYTES = 50_000
    response = await post_import(api, b"[" + b" " * 1_200_000 + b"]")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "import_too_large"
    assert "the limit is 50 kB" in response.json()["error"]["message"]  # what the person may send, not a setting


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_zip_bombs_and_strange_zips_are_refused(api, default_model, settings, monkeypatch):
    settings.IMPORT_MAX_BYTES = 1_000_000
    # 50 MB of JSON that packs into 50 KB: its declared size is refused before a byte is unpacked.
    bomb = _zip({"conversations.json": b"[" + b" " * 50_000_000 + b"]"})
    assert len(bomb) < 100_000
    response = await post_import(api, bomb, "export.zip")
    assert response.status_code == 413 and "unpacked" in response.json()["error"]["message"]
    # A zip whose header lies about the size: unpacking stops at the limit (or at the lie) all the same.
    liar = bytearray(bomb)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = liar.find(signature)
        liar[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    response = await post_import(api, bytes(liar), "export.zip")
    assert response.status_code in (400, 413), response.content
    monkeypatch.setattr(importing, "ZIP_MAX_DIRECTORY_BYTES", 2_000)
    many = {f"file-{i}.jpg": b"" for i in range(100)} | {"conversations.json": export(conversation())}
    response = await post_import(api, _zip(many), "export.zip")
    assert response.status_code == 413 and "too many files" in response.json()["error"]["message"]
    with monkeypatch.context() as writing:  # the Zip64 end records, which zipfile reads first, say the same
        writing.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 10)
        zip64 = _zip(many)
    assert b"PK\x06\x06" in zip64
    response = await post_import(api, zip64, "export.zip")
    assert response.status_code == 413 and "too many files" in response.json()["error"]["message"]
    response = await post_import(api, _zip({"chat.html": b"<html></html>"}), "export.zip")
    assert response.status_code == 400 and "no conversations.json" in response.json()["error"]["message"]
    response = await post_import(api, _zip({"conversations.json": export(conversation())})[:200], "export.zip")
    assert response.status_code == 400
    assert await nothing_imported()


async def test_the_request_itself(api, default_model):
    assert (await post_import(api, export(conversation()), format="claude")).status_code == 400
    missing = await api.post("/api/imports", {"format": "chatgpt"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_field"
    as_json = await api.post("/api/imports", export(conversation()), content_type="application/json")
    assert as_json.status_code == 400 and as_json.json()["error"]["code"] == "unsupported_media"
    assert (await api.get("/api/imports")).status_code == 405
    assert await nothing_imported()


async def test_a_signed_in_browser_needs_the_csrf_token(user, default_model):
    browser = AsyncClient(enforce_csrf_checks=True)
    await browser.aforce_login(user)
    refused = await browser.post("/api/imports", {"file": upload(export(conversation()))})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    await browser.get("/accounts/login/")  # sets the csrftoken cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = await browser.post(
        "/api/imports", {"file": upload(export(conversation()))}, headers={"X-CSRFToken": csrf}
    )
    assert accepted.status_code == 201
    in_the_form = await browser.post(
        "/api/imports", {"file": upload(export(conversation())), "csrfmiddlewaretoken": csrf}
    )
    assert in_the_form.status_code == 201
    assert await ChatInstance.objects.acount() == 2


@pytest.mark.usefixtures("fresh_counters")
async def test_an_import_counts_as_a_turn_for_the_rate_limit(api, default_model, settings):
    settings.RATE_LIMIT_TURNS_PER_MINUTE = 1
    assert (await post_import(api, export(conversation()))).status_code == 201
    refused = await post_import(api, export(conversation()))
    assert refused.status_code == 429 and refused["Retry-After"]
    assert await ChatInstance.objects.acount() == 1


# --- A large export ------------------------------------------------------------------------------------


def _write_large_export(path: Path, count: int) -> None:
    """``count`` conversations of about 9 kB each (real ones carry that much metadata), written one at a time."""
    metadata = {"request_id": "r" * 40, "finish_details": {"type": "stop"}, "notes": "z" * 9000}
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index in range(count):
            nodes = [
                node(f"q{index}", "root", "user", f"Question {index} — ünïcödé", T0 + index),
                node(f"a{index}", f"q{index}", "assistant", f"Answer {index}", T0 + index + 1, metadata=metadata),
            ]
            handle.write(("," if index else "") + json.dumps(conversation(f"Chat {index}", nodes)))
        handle.write("]")


def test_a_large_export_is_read_a_conversation_at_a_time(user, default_model, tmp_path):
    path = tmp_path / "conversations.json"
    _write_large_export(path, 2000)
    size = path.stat().st_size
    assert size > 18_000_000
    gc.collect()
    tracemalloc.start()
    try:
        with path.open("rb") as source:
            result = chats_import(user=user, source=source, name="conversations.json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(result.chats), result.messages) == (2000, 4000)
    assert peak < size / 3, f"peak {peak / 1e6:.1f} MB for a file of {size / 1e6:.1f} MB"
    last = ChatInstance.objects.get(title="Chat 1999")
    assert last.active_message.content == "Answer 1999"
    assert last.active_message.parent.content == "Question 1999 — ünïcödé"
