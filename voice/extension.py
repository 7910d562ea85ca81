"""What voice adds to chat's messages (registered in ``VoiceConfig.ready``): the recording of a voice message."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.html import format_html

from chat.domain.extensions import MessageExtension
from chat.models import Message
from voice.models import AudioRecording


def recording_of(message: Message) -> AudioRecording | None:
    """The recording of a voice message (loaded with the message: ``chat.domain.extensions.message_related``)."""
    if message.source != Message.Source.VOICE:
        return None
    try:
        return message.audio
    except ObjectDoesNotExist:
        return None


def audio_url(message_id: str) -> str:
    return reverse("voice:message-audio", kwargs={"message_id": message_id})


def recording_dict(message: Message) -> dict[str, Any] | None:
    audio = recording_of(message)
    if audio is None:
        return None
    return {
        "url": audio_url(message.public_id),
        "format": audio.format,
        "sizeBytes": audio.size_bytes,
        "durationMs": audio.duration_ms,
        "language": audio.language,
        "engine": audio.engine,
        "model": audio.model_name,
        "transcriptionMs": audio.transcription_ms,
    }


def player_html(message_id: str) -> str:
    return format_html('<audio controls preload="none" src="{}"></audio>', audio_url(message_id))


def recording_admin_html(message: Message) -> str | None:
    audio = recording_of(message)
    if audio is None:
        return None
    return format_html(
        "{} {} · {} s · {} · {} {}", player_html(message.public_id), audio.format,
        f"{audio.duration_ms / 1000:.1f}", audio.language or "?", audio.engine, audio.model_name,
    )  # fmt: skip


def transcription_timing(message: Message) -> str | None:
    audio = recording_of(message)
    return f"transcription {audio.transcription_ms} ms" if audio is not None else None


def recording_link(message: Message) -> tuple[str, str] | None:
    return ("recording", audio_url(message.public_id)) if recording_of(message) is not None else None


RECORDING = MessageExtension(
    key="audio",
    related="audio",
    to_dict=recording_dict,
    admin_html=recording_admin_html,
    admin_timing=transcription_timing,
    export_link=recording_link,
)
