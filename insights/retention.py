"""Retention: recordings, and optionally whole conversations, deleted after a number of days, except what a
reviewer flagged, corrected or marked as needing attention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from chat.models import ChatInstance, Message
from voice.models import AudioRecording


@dataclass
class RetentionPlan:
    recordings: int
    chats: int
    recordings_days: int
    chats_days: int


def _kept_messages() -> Q:
    return ~Q(flag="") | ~Q(corrected_content="")


def expired_recordings(*, days: int) -> QuerySet[AudioRecording]:
    """Recordings older than ``days`` whose message nobody flagged or corrected, in chats not needing attention."""
    cutoff = timezone.now() - timedelta(days=days)
    return (AudioRecording.objects.filter(created_at__lt=cutoff, message__flag="", message__corrected_content="")
            .exclude(message__chat__review_state=ChatInstance.ReviewState.NEEDS_ATTENTION))  # fmt: skip


def expired_chats(*, days: int) -> QuerySet[ChatInstance]:
    """Conversations untouched for ``days``, none of whose messages was flagged or corrected, not needing
    attention and not pinned."""
    cutoff = timezone.now() - timedelta(days=days)
    kept = Message.objects.filter(_kept_messages(), chat=OuterRef("pk"))
    return (ChatInstance.objects.filter(updated_at__lt=cutoff, pinned=False)
            .exclude(review_state=ChatInstance.ReviewState.NEEDS_ATTENTION).exclude(Exists(kept)))  # fmt: skip


def retention_plan() -> RetentionPlan:
    """What ``retention_apply`` would delete now, under the RETENTION_* settings (0 days: nothing)."""
    rec_days, chat_days = settings.RETENTION_RECORDINGS_DAYS, settings.RETENTION_CHATS_DAYS
    return RetentionPlan(
        recordings=expired_recordings(days=rec_days).count() if rec_days else 0,
        chats=expired_chats(days=chat_days).count() if chat_days else 0,
        recordings_days=rec_days,
        chats_days=chat_days,
    )


def retention_apply() -> RetentionPlan:
    """Delete the expired recordings (their files too) and conversations; returns what was deleted."""
    plan = retention_plan()
    if plan.recordings_days:
        for recording in expired_recordings(days=plan.recordings_days).iterator(chunk_size=500):
            with transaction.atomic():
                recording.delete()
                transaction.on_commit(lambda f=recording.file: f.delete(save=False))
    if plan.chats_days:
        for chat in expired_chats(days=plan.chats_days).iterator(chunk_size=100):
            files = [r.file for r in AudioRecording.objects.filter(message__chat=chat)]
            with transaction.atomic():
                chat.delete()
                transaction.on_commit(lambda files=files: [f.delete(save=False) for f in files])
    return plan
