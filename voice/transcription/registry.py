"""Where voice meets its transcription engines: the settings choose an engine and build its config, and an
engine's errors become the API's errors (``voice.exceptions``).

The engines (the other modules of ``voice.transcription``) stay free of settings, models and HTTP; this
module joins them to the product, the way ``chat.turns.upstream`` does for the LLM providers.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from chat.models import api_key_from_env
from voice.exceptions import TranscriptionUnavailable
from voice.registry import EngineRegistry
from voice.transcription.base import EngineConfig, TranscriptionEngine
from voice.transcription.errors import TranscriptionError

_engines: EngineRegistry[TranscriptionEngine] = EngineRegistry("TRANSCRIPTION_ENGINES", TranscriptionUnavailable)

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
    remote = engine == "openai"
    model = model or (settings.STT_MODEL if remote else settings.WHISPER_MODEL)
    _engines.require(engine)
    offered = [settings.STT_MODEL] if remote else settings.WHISPER_MODELS
    if model not in offered:
        raise TranscriptionUnavailable(
            f"The speech model '{model}' is not offered here. Choose one of: {', '.join(offered)}.",
            code="model_not_found",
            status=400,
        )
    return _engines.get(engine, _resolved(model), lambda engine_class: engine_class(_config(model, remote)))


def voice_engine(language: str | None = None) -> TranscriptionEngine:
    """The engine for a person's voice messages (the page's microphone, conversation mode):
    ``VOICE_WHISPER_ENGINE`` / ``VOICE_WHISPER_MODEL``, fast enough to answer at once (tiny.en for English
    by default), unless the person names another language than its model knows (a ``.en`` model), which
    ``WHISPER_ENGINE``'s model hears."""
    model = settings.VOICE_WHISPER_MODEL or None
    if language and language != "en" and model and model.endswith(".en"):
        return get_engine()
    return get_engine(settings.VOICE_WHISPER_ENGINE, model)


def _config(model: str, remote: bool) -> EngineConfig:
    return EngineConfig(
        model=model,
        cache_dir=Path(settings.WHISPER_CACHE_DIR),
        threads=settings.WHISPER_THREADS,
        beam_size=max(settings.WHISPER_BEAM_SIZE, 1),
        languages=tuple(settings.WHISPER_LANGUAGES),
        base_url=settings.STT_BASE_URL if remote else "",
        api_key=(api_key_from_env(settings.STT_API_KEY_ENV) or "") if remote else "",
    )


def unavailable(error: TranscriptionError) -> TranscriptionUnavailable:
    """The API error (a 503) for an engine that cannot run."""
    return TranscriptionUnavailable(error.message, code=error.code, detail=error.detail)
