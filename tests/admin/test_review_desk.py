"""The admin as a review desk, on real data: text and voice, every status, feedback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat.models import ChatInstance, ChatModel, Feedback, Message
from voice.models import AudioRecording

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/chat/chatinstance/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_chat(owner, model, title, turns, *, voice=False, status="complete", feedback=None):
    chat = ChatInstance.objects.create(owner=owner, chat_model=model, title=title)
    seq, reply = 0, None
    for question, answer in turns:
        seq += 1
        user_message = Message.objects.create(chat=chat, parent=reply, seq=seq, role="user", content=question,
                                              source="voice" if voice else "text")  # fmt: skip
        if voice:
            AudioRecording.objects.create(
                message=user_message, file=ContentFile(b"OggS" + b"\0" * 100, name="a.ogg"), format="ogg",
                content_type="audio/ogg", size_bytes=104, duration_ms=2700, language="en",
                engine="openai-whisper", model_name="base", transcription_ms=640,
            )  # fmt: skip
        seq += 1
        reply = Message.objects.create(
            chat=chat, parent=user_message, seq=seq, role="assistant", content=answer, status=status, prompt_tokens=20,
            completion_tokens=10, ttft_ms=180, duration_ms=900,
            finish_reason="stop" if status == "complete" else status,
        )  # fmt: skip
        if feedback is not None:
            Feedback.objects.create(message=reply, user=owner, rating=feedback, comment="meh" if feedback < 0 else "")
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=reply)
    return chat


@pytest.fixture
def data(db):
    User = get_user_model()
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    local = ChatModel.objects.create(name="local-model", provider="local")
    remote = ChatModel.objects.create(name="remote-model", base_url="http://127.0.0.1:9/v1")
    return {
        "text": make_chat(alice, local, "Paris question", [("Capital of France?", "**Paris**, of course.")],
                          feedback=1),
        "voice": make_chat(bob, remote, "Weather by voice", [("what is the whether in london", "Rainy.")],
                           voice=True, feedback=-1),
        "error": make_chat(alice, remote, "Broken one", [("Hello?", "")], status="error"),
        "stopped": make_chat(bob, local, "Stopped one", [("Tell me a story", "Once upon")], status="interrupted"),
    }  # fmt: skip


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", password="pw")


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def listed(response) -> set[str]:
    return {chat.public_id for chat in response.context["cl"].result_list}


def test_every_admin_page_renders(admin_client, data):
    pages = ["/admin/", CHANGELIST, "/admin/chat/message/", "/admin/chat/chatmodel/", "/admin/chat/feedback/",
             "/admin/chat/apitoken/", "/admin/voice/audiorecording/", "/admin/chat/apitoken/add/"]  # fmt: skip
    for chat in data.values():
        pages.append(f"{CHANGELIST}{chat.pk}/change/")
    for message in Message.objects.all():
        pages.append(f"/admin/chat/message/{message.pk}/change/")
    for recording in AudioRecording.objects.all():
        pages.append(f"/admin/voice/audiorecording/{recording.pk}/change/")
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


def test_changelist_columns(admin_client, data):
    response = admin_client.get(CHANGELIST)
    rows = {c.public_id: c for c in response.context["cl"].result_list}
    voice = rows[data["voice"].public_id]
    assert (voice.messages_count, voice.voice_count, voice.tokens_total, voice.has_problem) == (2, 1, 30, False)
    assert (voice.thumbs_up, voice.thumbs_down) == (0, 1)
    assert rows[data["error"].public_id].has_problem and rows[data["stopped"].public_id].has_problem
    html = response.content.decode()
    assert "👍 1 · 👎 0" in html and "Unreviewed" in html


def test_conversation_page_is_read_only_transcript_with_player_and_timings(admin_client, data):
    chat = data["voice"]
    html = admin_client.get(f"{CHANGELIST}{chat.pk}/change/").content.decode()
    message = chat.messages.get(seq=1)
    assert f'<audio controls preload="none" src="/api/messages/{message.public_id}/audio">' in html
    assert "transcription 640 ms" in html and "first token 180 ms" in html and "total 900 ms" in html
    assert "13.9 tokens/s" in html and "20 prompt + 10 completion tokens" in html
    assert "👎 meh" in html
    # What the person said is shown, not editable.
    assert 'name="messages-0-content"' not in html and "what is the whether in london" in html
    assert 'name="messages-0-corrected_content"' in html and 'name="messages-0-flag"' in html
    text_html = admin_client.get(f"{CHANGELIST}{data['text'].pk}/change/").content.decode()
    assert "<strong>Paris</strong>, of course." in text_html


def test_correcting_a_transcript_keeps_the_original(admin_client, data, staff):
    chat = data["voice"]
    messages = list(chat.messages.order_by("seq"))
    form = {
        "review_state": "needs_attention", "review_notes": "mis-heard weather",
        "messages-TOTAL_FORMS": "2", "messages-INITIAL_FORMS": "2", "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "0",
    }  # fmt: skip
    for index, message in enumerate(messages):
        form[f"messages-{index}-id"] = str(message.pk)
        form[f"messages-{index}-chat"] = str(chat.pk)
        form[f"messages-{index}-flag"] = "mis_transcription" if index == 0 else ""
        form[f"messages-{index}-flag_note"] = "whether → weather" if index == 0 else ""
        form[f"messages-{index}-corrected_content"] = "what is the weather in London" if index == 0 else ""
    response = admin_client.post(f"{CHANGELIST}{chat.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    first = Message.objects.get(pk=messages[0].pk)
    assert first.content == "what is the whether in london"  # the original stays
    assert first.corrected_content == "what is the weather in London" and first.flag == "mis_transcription"
    chat.refresh_from_db()
    assert chat.review_state == "needs_attention" and chat.reviewer == staff and chat.reviewed_at
    html = admin_client.get(f"{CHANGELIST}{chat.pk}/change/").content.decode()
    assert "<strong>Heard:</strong> what is the whether in london" in html
    assert "<strong>Corrected:</strong> what is the weather in London" in html
    exported = call_command_output("--format", "json")
    voice = next(c for c in exported if c["id"] == chat.public_id)
    assert voice["messages"][0]["review"]["correctedContent"] == "what is the weather in London"
    assert voice["messages"][0]["content"] == "what is the whether in london"


def test_search_finds_a_word_of_a_transcript(admin_client, data):
    assert listed(admin_client.get(CHANGELIST, {"q": "whether"})) == {data["voice"].public_id}
    assert listed(admin_client.get(CHANGELIST, {"q": "bob"})) == {data["voice"].public_id, data["stopped"].public_id}
    assert listed(admin_client.get(CHANGELIST, {"q": "Paris question"})) == {data["text"].public_id}


def test_filters_narrow_the_list(admin_client, data):
    ids = {name: chat.public_id for name, chat in data.items()}
    assert listed(admin_client.get(CHANGELIST, {"voice": "yes"})) == {ids["voice"]}
    assert listed(admin_client.get(CHANGELIST, {"voice": "no"})) == {ids["text"], ids["error"], ids["stopped"]}
    assert listed(admin_client.get(CHANGELIST, {"problem": "yes"})) == {ids["error"], ids["stopped"]}
    assert listed(admin_client.get(CHANGELIST, {"feedback": "down"})) == {ids["voice"]}
    model = ChatModel.objects.get(name="local-model")
    assert listed(admin_client.get(CHANGELIST, {"chat_model__id__exact": model.pk})) == {ids["text"], ids["stopped"]}
    ChatInstance.objects.filter(pk=data["text"].pk).update(review_state="reviewed")
    assert listed(admin_client.get(CHANGELIST, {"review_state__exact": "reviewed"})) == {ids["text"]}
    ChatInstance.objects.filter(pk=data["error"].pk).update(created_at=timezone.now() - timedelta(days=40))
    # As the admin's own "Past 7 days" link gives it: an aware datetime (a bare date reads as naive).
    since = str((timezone.now() - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0))
    recent = listed(admin_client.get(CHANGELIST, {"created_at__gte": since}))
    assert ids["error"] not in recent and ids["text"] in recent


def test_non_staff_are_redirected(data):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_view_only_staff_can_read_but_not_save(data):
    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_chatinstance", "view_message"]))
    client = Client()
    client.force_login(viewer)
    chat = data["voice"]
    page = client.get(f"{CHANGELIST}{chat.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="review_state"' not in html and 'name="messages-0-corrected_content"' not in html
    response = client.post(f"{CHANGELIST}{chat.pk}/change/", {"review_state": "reviewed"})
    assert response.status_code == 403
    chat.refresh_from_db()
    assert chat.review_state == "unreviewed"


def test_export_actions_contain_exactly_the_selected_in_order(admin_client, data):
    selected = [data["stopped"], data["text"]]
    response = admin_client.post(CHANGELIST, {"action": "export_json", "_selected_action": [c.pk for c in selected]})
    assert response["Content-Disposition"].startswith("attachment;")
    exported = json.loads(response.content)
    assert [c["id"] for c in exported] == [data["text"].public_id, data["stopped"].public_id]  # oldest first
    assert [m["seq"] for m in exported[0]["messages"]] == [1, 2]
    assert exported[0]["messages"][1]["feedback"][0]["rating"] == "up"
    response = admin_client.post(CHANGELIST, {"action": "export_markdown", "_selected_action": [data["voice"].pk]})
    markdown = response.content.decode()
    assert markdown.startswith("# Weather by voice") and "**User** (" in markdown and "voice" in markdown
    assert "[recording](http://testserver/api/messages/" in markdown and "Paris" not in markdown


def call_command_output(*args) -> list[dict]:
    import io

    out = io.StringIO()
    call_command("export_chats", *args, stdout=out)
    return json.loads(out.getvalue())


def test_export_command_filters(data):
    assert {c["id"] for c in call_command_output("--user", "bob")} == {data["voice"].public_id,
                                                                      data["stopped"].public_id}  # fmt: skip
    ChatInstance.objects.filter(pk=data["text"].pk).update(created_at=timezone.now() - timedelta(days=10))
    day = (timezone.now() - timedelta(days=10)).strftime("%Y-%m-%d")
    assert [c["id"] for c in call_command_output("--until", day)] == [data["text"].public_id]
    assert data["text"].public_id not in {
        c["id"] for c in call_command_output("--since", timezone.now().strftime("%Y-%m-%d"))
    }
    voice = next(
        c for c in call_command_output("--base-url", "https://chat.example.com/") if c["id"] == data["voice"].public_id
    )
    assert voice["messages"][0]["audio"]["url"].startswith("https://chat.example.com/api/messages/")


@pytest.mark.parametrize("page_size", [5, 40])
def test_changelist_query_count_is_constant(admin_client, staff, django_assert_max_num_queries, page_size):
    owner = get_user_model().objects.create_user("many")
    model = ChatModel.objects.create(name="m")
    for i in range(page_size):
        make_chat(owner, model, f"chat {i}", [("q", "a"), ("q2", "a2")], voice=i % 2 == 0, feedback=1 if i % 3 else -1)
    admin_client.get(CHANGELIST)  # warm caches (content types, session)
    with django_assert_max_num_queries(9):  # 8, and one for conversation mode's latency figures
        response = admin_client.get(CHANGELIST, {"o": "-6"})
    assert len(response.context["cl"].result_list) == page_size


@pytest.mark.django_db(transaction=True)
def test_feedback_endpoint(data):
    from chat.domain.services import api_token_create

    alice = get_user_model().objects.get(username="alice")
    token = api_token_create(user=alice)[1]
    reply = data["text"].messages.get(role="assistant")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(f"/api/messages/{reply.public_id}/feedback", {"rating": "down", "comment": "too short"},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 200 and response.json()["rating"] == "down"
    feedback = Feedback.objects.get(message=reply, user=alice)
    assert (feedback.rating, feedback.comment) == (-1, "too short")
    other = data["voice"].messages.get(role="assistant")  # bob's
    assert client.post(f"/api/messages/{other.public_id}/feedback", {"rating": "up"},
                       content_type="application/json").status_code == 404  # fmt: skip
    bad = client.post(f"/api/messages/{reply.public_id}/feedback", {"rating": 5}, content_type="application/json")
    assert bad.status_code == 400


def test_the_conversation_page_marks_versions_and_the_shown_branch(admin_client, data):
    chat = data["text"]
    first, reply = chat.messages.order_by("seq")[:2]
    retry = Message.objects.create(chat=chat, parent=first, seq=99, role="assistant", content="Paris, again.")
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=retry)
    html = admin_client.get(f"{CHANGELIST}{chat.pk}/change/").content.decode()
    assert f"#{reply.seq} Assistant · after #{first.seq} · version 1 of 2 · not on the branch the chat shows" in html
    assert f"#99 Assistant · after #{first.seq} · version 2 of 2 ·" in html
    assert "#99 Assistant · after #1 · version 2 of 2 · not on" not in html
