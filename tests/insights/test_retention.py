"""Retention: old recordings and conversations go; what a reviewer flagged, corrected or marked stays."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from chat.models import ChatInstance, ChatModel, Message
from voice.models import AudioRecording

pytestmark = pytest.mark.django_db


@pytest.fixture
def old(settings, tmp_path):
    """Four spoken questions of 100 days ago (plain, flagged, corrected, in a chat needing attention) and one
    of today."""
    settings.MEDIA_ROOT = tmp_path
    owner = get_user_model().objects.create_user("keeper")
    model = ChatModel.objects.create(name="m", provider="local")
    long_ago = timezone.now() - timedelta(days=100)
    recordings = {}
    for name, extra, state in [("plain", {}, "unreviewed"), ("flagged", {"flag": "mis_transcription"}, "unreviewed"),
                               ("corrected", {"corrected_content": "Right."}, "reviewed"),
                               ("attention", {}, "needs_attention"), ("today", {}, "unreviewed")]:  # fmt: skip
        chat = ChatInstance.objects.create(owner=owner, chat_model=model, title=name, review_state=state)
        message = Message.objects.create(chat=chat, seq=1, role="user", source="voice", content="hi", **extra)
        recording = AudioRecording.objects.create(
            message=message,
            file=ContentFile(b"RIFF" + b"\0" * 40, name=f"{name}.wav"),
            format="wav",
            content_type="audio/wav",
            size_bytes=44,
            duration_ms=1000,
            engine="e",
            model_name="m",
            transcription_ms=1,
        )
        if name != "today":
            AudioRecording.objects.filter(pk=recording.pk).update(created_at=long_ago)
            ChatInstance.objects.filter(pk=chat.pk).update(updated_at=long_ago)
        recordings[name] = recording
    return recordings


def run(*args) -> str:
    out = io.StringIO()
    call_command("retention", *args, stdout=out)
    return out.getvalue()


def test_off_by_default(old):
    assert run() == ("Deleted no recordings (RETENTION_RECORDINGS_DAYS is 0) and no conversations "
                     "(RETENTION_CHATS_DAYS is 0).\n")  # fmt: skip
    assert AudioRecording.objects.count() == 5


def test_old_recordings_go_and_flagged_ones_survive(old, settings, django_capture_on_commit_callbacks):
    settings.RETENTION_RECORDINGS_DAYS = 30
    assert run("--dry-run").startswith("Would delete 1 recordings older than 30 days")
    assert AudioRecording.objects.count() == 5
    path = old["plain"].file.path
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the rows are gone for good
        assert run().startswith("Deleted 1 recordings")
    left = set(AudioRecording.objects.values_list("message__chat__title", flat=True))
    assert left == {"flagged", "corrected", "attention", "today"}
    assert not (settings.MEDIA_ROOT / path).exists()
    assert Message.objects.filter(chat__title="plain").exists()  # the words stay, only the audio goes


def test_old_conversations_go_unless_kept(old, settings, django_capture_on_commit_callbacks):
    settings.RETENTION_CHATS_DAYS = 30
    assert "and 1 conversations untouched for 30 days" in run("--dry-run")
    with django_capture_on_commit_callbacks(execute=True):
        run()
    assert set(ChatInstance.objects.values_list("title", flat=True)) == {"flagged", "corrected", "attention", "today"}
    assert not (settings.MEDIA_ROOT / old["plain"].file.path).exists()


def test_the_dashboard_says_what_the_next_run_will_delete(old, settings):
    from tests.admin.conftest import staff_with

    settings.RETENTION_RECORDINGS_DAYS = 30
    page = staff_with("view_insights").get("/admin/insights/dailyusage/").content.decode()
    assert "would delete\n1 recording older than 30 days\nand no conversations" in page
