"""Errors of voice input (``chat.exceptions.ChatError``): each says what is wrong with the upload in words a
person understands; the docstring is the message where the error has a fixed one."""

from __future__ import annotations

from chat.exceptions import ChatError


class AudioRejected(ChatError, code="invalid_audio", status=400):
    pass


class EmptyAudio(AudioRejected, code="empty_audio"):
    """The audio file is empty."""


class AudioTooLarge(AudioRejected, code="audio_too_large", status=413):
    pass


class UnsupportedAudio(AudioRejected, code="unsupported_audio", status=415):
    """This file is not audio in a format we accept. Send webm/opus, ogg/opus, mp4/m4a (AAC), wav, mp3 or flac."""


class CorruptAudio(AudioRejected, code="corrupt_audio", status=422):
    """The audio could not be decoded. The file may be truncated or damaged."""


class AudioTooLong(AudioRejected, code="audio_too_long", status=413):
    pass


class NoSpeech(AudioRejected, code="no_speech", status=422):
    """No speech detected in the recording. Check the microphone and try again."""


class TranscriptionUnavailable(ChatError, code="transcription_unavailable", status=503):
    """Speech recognition is not available on this server."""


class SpeechUnavailable(ChatError, code="speech_unavailable", status=503):
    """Speech synthesis is not available on this server."""
