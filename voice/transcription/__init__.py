"""Speech-recognition engines, resolved from ``settings.TRANSCRIPTION_ENGINES`` like Django's backends."""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from voice.exceptions import TranscriptionUnavailable
from voice.transcription.base import TranscriptionEngine

_engines: dict[tuple[str, str], TranscriptionEngine] = {}
_lock = threading.Lock()

# Names clients may send (OpenAI's "whisper-1" means our default engine).
ALIASES = {"whisper-1": None, "default": None}


def get_engine(engine: str | None = None, model: str | None = None) -> TranscriptionEngine:
    """The shared engine instance for an engine name and model (defaults from settings)."""
    engine = engine or settings.WHISPER_ENGINE
    model = model or settings.WHISPER_MODEL
    try:
        path = settings.TRANSCRIPTION_ENGINES[engine]
    except KeyError:
        raise TranscriptionUnavailable(
            f"Unknown speech engine '{engine}'. Choose one of: {', '.join(settings.TRANSCRIPTION_ENGINES)}.",
            status=400,
        ) from None
    with _lock:
        key = (engine, model)
        if key not in _engines:
            _engines[key] = import_string(path)(model)
        return _engines[key]
