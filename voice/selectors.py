"""Voice's reads: the recordings and replies a person may hear, and whether a chat can take a voice turn."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet

from chat.domain.sharing import share_public_get, share_recording_message
from chat.exceptions import NotFound
from chat.models import ChatInstance, Message
from voice.models import AudioRecording

RowT = TypeVar("RowT", bound=Model)


def chat_is_answering(*, chat: ChatInstance) -> bool:
    """Whether a reply is still streaming in ``chat`` (a new turn would be refused as busy)."""
    return Message.objects.filter(chat=chat, status=Message.Status.STREAMING).exists()


def _heard_by(user: AbstractBaseUser, queryset: QuerySet[RowT], owner: str, **lookup: Any) -> RowT | None:
    """The one row a person may hear: reviewers with "Can view audio recording" any, everyone else their own."""
    if not user.has_perm("voice.view_audiorecording"):
        queryset = queryset.filter(**{owner: user})
    return queryset.filter(**lookup).first()


def recording_get(*, user: AbstractBaseUser, message_id: str) -> AudioRecording:
    """The recording of a voice message, with its message and chat."""
    queryset = AudioRecording.objects.select_related("message__chat")
    recording = _heard_by(user, queryset, "message__chat__owner", message__public_id=message_id)
    if recording is None:
        raise NotFound("No recording was found for this message.", code="audio_not_found")
    return recording


def reply_get(*, user: AbstractBaseUser, message_id: str) -> Message:
    """A reply of the model, to be heard spoken."""
    replies = Message.objects.filter(role=Message.Role.ASSISTANT)
    reply = _heard_by(user, replies, "chat__owner", public_id=message_id)
    if reply is None:
        raise NotFound("No reply was found for this message.", code="message_not_found")
    return reply


def shared_recording_get(*, share_id: str, message_id: str) -> AudioRecording | None:
    """The recording a shared link offers for ``message_id``: only a link made with recordings, only a message
    it shows, only while it stands; None otherwise."""
    share = share_public_get(share_id=share_id)
    if share is None or not share_recording_message(share=share, message_id=message_id):
        return None
    return AudioRecording.objects.filter(message__chat_id=share.chat_id, message__public_id=message_id).first()
