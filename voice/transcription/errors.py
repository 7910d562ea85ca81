"""Errors of the speech engines: a stable code, a sentence a person understands, and a detail for logs.

Nothing here knows about HTTP: ``voice.engines`` turns these into the API's errors.
"""

from __future__ import annotations


class TranscriptionError(Exception):
    code = "transcription_unavailable"
    message = "Speech recognition is not available on this server."

    def __init__(self, message: str | None = None, *, code: str | None = None, detail: str = ""):
        self.message = message or self.message
        self.code = code or self.code
        self.detail = detail  # for logs, never shown to the person speaking
        super().__init__(self.message)
