"""Speech-recognition engines, resolved from ``settings.TRANSCRIPTION_ENGINES`` like Django's backends."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from voice.exceptions import TranscriptionUnavailable
from voice.transcription.base import TranscriptionEngine

_engines: dict[tuple[str, str], TranscriptionEngine] = {}
_lock = threading.Lock()

# Names clients may send (OpenAI's "whisper-1" means our default engine).
ALIASES = {"whisper-1": None, "default": None}


def _resolved(model: str) -> str:
    """One key per distinct model file: the spellings of one path share a loaded model."""
    return str(Path(model).resolve()) if Path(model).exists() else model


def get_engine(engine: str | None = None, model: str | None = None) -> TranscriptionEngine:
    """The shared engine instance for an engine name and model (defaults from settings).

    Only the models in ``WHISPER_MODELS`` load (the default one always), so what is held in memory is
    bounded by that list, whatever clients ask for.
    """
    engine = engine or settings.WHISPER_ENGINE
    model = model or settings.WHISPER_MODEL
    try:
        path = settings.TRANSCRIPTION_ENGINES[engine]
    except KeyError:
        raise TranscriptionUnavailable(
            f"Unknown speech engine '{engine}'. Choose one of: {', '.join(settings.TRANSCRIPTION_ENGINES)}.",
            status=400,
        ) from None
    if model not in settings.WHISPER_MODELS:
        raise TranscriptionUnavailable(
            f"The speech model '{model}' is not offered here. Choose one of: {', '.join(settings.WHISPER_MODELS)}.",
            code="model_not_found",
            status=400,
        )
    with _lock:
        key = (engine, _resolved(model))
        if key not in _engines:
            _engines[key] = import_string(path)(model)
        return _engines[key]
