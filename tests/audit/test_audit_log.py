"""Every admin view of a conversation or a recording is in the audit log, which operators can read."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from tests.admin.conftest import staff_with
from tests.admin.test_review_desk import make_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def spoken(db, settings, tmp_path):
    from django.contrib.auth import get_user_model

    from chat.models import ChatModel

    settings.MEDIA_ROOT = tmp_path
    owner = get_user_model().objects.create_user("dana")
    model = ChatModel.objects.create(name="m", provider="local")
    return make_chat(owner, model, "Weather by voice", [("what is the whether", "Rain.")], voice=True)


def test_views_of_a_conversation_and_a_recording_are_logged(spoken):
    from voice.models import AudioRecording

    reviewer = staff_with("view_chatinstance", "view_audiorecording", username="rita")
    assert reviewer.get(f"/admin/chat/chatinstance/{spoken.pk}/change/").status_code == 200
    recording = AudioRecording.objects.get()
    assert reviewer.get(f"/admin/voice/audiorecording/{recording.pk}/change/").status_code == 200
    reviewer.get("/admin/chat/chatinstance/")  # a list is not a view of anyone's conversation
    entries = list(AuditEntry.objects.order_by("id").values_list("username", "object_type", "object_id", "object_repr"))
    assert entries == [
        ("rita", "chat.chatinstance", str(spoken.pk), "Weather by voice"),
        ("rita", "voice.audiorecording", str(recording.pk), str(recording)),
    ]


def test_refused_and_missing_pages_are_not_logged(spoken):
    assert staff_with("view_chatmodel").get(f"/admin/chat/chatinstance/{spoken.pk}/change/").status_code == 403
    staff_with("view_chatinstance", username="other").get("/admin/chat/chatinstance/999999/change/")
    assert AuditEntry.objects.count() == 0


def test_operators_read_the_log_and_nobody_edits_it(spoken):
    staff_with("view_chatinstance", username="rita").get(f"/admin/chat/chatinstance/{spoken.pk}/change/")
    operator = staff_with("view_auditentry", "delete_auditentry", username="olga")
    page = operator.get("/admin/audit/auditentry/").content.decode()
    assert "rita" in page and "Weather by voice" in page
    entry = AuditEntry.objects.get()
    assert operator.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.count() == 1
    assert staff_with("view_chatinstance", username="nosy").get("/admin/audit/auditentry/").status_code == 403
