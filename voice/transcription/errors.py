"""Errors of the speech engines (``config.errors.CodedError``). Nothing here knows about HTTP:
``voice.transcription.registry`` turns these into the API's errors."""

from __future__ import annotations

from config.errors import CodedError


class TranscriptionError(CodedError, code="transcription_unavailable"):
    """Speech recognition is not available on this server."""
