"""The recording behind a voice message."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from chat.models import Message


def audio_path(instance: AudioRecording, filename: str) -> str:
    """A random path: recordings are only served through an owner-checked view, never by listing."""
    now = timezone.now()
    return f"audio/{now:%Y/%m}/{secrets.token_urlsafe(18)}.{filename.rsplit('.', 1)[-1]}"


class AudioRecording(models.Model):
    """The audio a voice message was transcribed from, and how the transcription went."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="audio")
    file = models.FileField(upload_to=audio_path)
    format = models.CharField(max_length=10, help_text="Detected from the file's bytes.")
    content_type = models.CharField(max_length=50)
    size_bytes = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()
    language = models.CharField(max_length=16, blank=True)
    engine = models.CharField(max_length=40)
    model_name = models.CharField(max_length=100)
    transcription_ms = models.PositiveIntegerField()
    # Conversation mode: from the end of the person's speech to the final transcription, the reply's first
    # token and its first audio.
    text_after_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name="end of speech → text (ms)")
    first_token_after_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="end of speech → first token (ms)"
    )
    first_audio_after_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="end of speech → first audio (ms)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.format} {self.duration_ms / 1000:.1f}s for {self.message.public_id}"
