"""What voice adds to chat's messages (registered in ``VoiceConfig.ready``): the recording of a voice message."""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import get_script_prefix, reverse
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
        # conversation mode: end of speech to the final text, the reply's first token, its first audio
        "latency": {
            "textMs": audio.text_after_ms,
            "firstTokenMs": audio.first_token_after_ms,
            "firstAudioMs": audio.first_audio_after_ms,
        },
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
    if audio is None:
        return None
    parts = [f"transcription {audio.transcription_ms} ms"]
    latencies = (
        ("end of speech → text", audio.text_after_ms),
        ("→ first token", audio.first_token_after_ms),
        ("→ first audio", audio.first_audio_after_ms),
    )
    for label, value in latencies:
        if value is not None:
            parts.append(f"{label} {value} ms")
    return " · ".join(parts)


@functools.lru_cache(maxsize=16)
def _speech_url_parts(script_prefix: str) -> tuple[str, str]:
    head, _, tail = reverse("voice:message-speech", kwargs={"message_id": "0"}).rpartition("/0/")
    return head + "/", "/" + tail


def speech_url(message_id: str) -> str:
    """``reverse()`` once per script prefix: every saved reply's dict has this URL, and resolving it each time
    cost as much as the rest of the dict. Public ids are base62, so nothing in them needs quoting."""
    head, tail = _speech_url_parts(get_script_prefix())
    return head + message_id + tail


def spoken_dict(message: Message) -> dict[str, Any] | None:
    """Where to hear a reply spoken (synthesised on demand, as the person heard it with speech on)."""
    if message.role != Message.Role.ASSISTANT or not message.content:
        return None
    return {"url": speech_url(message.public_id)}


def spoken_admin_html(message: Message) -> str | None:
    if message.role != Message.Role.ASSISTANT or not message.content:
        return None
    return format_html('Spoken: <audio controls preload="none" src="{}"></audio>', speech_url(message.public_id))


SPOKEN = MessageExtension(
    key="speech",
    related=None,
    to_dict=spoken_dict,
    admin_html=spoken_admin_html,
    admin_timing=lambda message: None,
    export_link=lambda message: None,
)


def _percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def latency_summary(chats: Any) -> str | None:
    """p50 and p95 of conversation mode's latencies over the conversations listed."""
    rows = list(
        AudioRecording.objects.filter(message__chat__in=chats, text_after_ms__isnull=False).values_list(
            "text_after_ms", "first_token_after_ms", "first_audio_after_ms"
        )[:10000]
    )
    if not rows:
        return None
    parts = []
    for index, label in enumerate(("end of speech → text", "→ first token", "→ first audio")):
        values = [row[index] for row in rows if row[index] is not None]
        if values:
            parts.append(f"{label}: p50 {_percentile(values, 0.5)} ms, p95 {_percentile(values, 0.95)} ms")
    return format_html("Conversation mode, {} spoken turns — {}", len(rows), "; ".join(parts))


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
