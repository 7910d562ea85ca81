"""Where voice meets its speech synthesis engines: the settings choose an engine and voice and build its
config (``voice.synthesis.worker`` runs it and turns its errors into the API's)."""

from __future__ import annotations

from django.conf import settings

from chat.models import api_key_from_env
from voice.exceptions import SpeechUnavailable
from voice.registry import EngineRegistry
from voice.synthesis.base import SpeechEngine, SynthesisConfig

_engines: EngineRegistry[SpeechEngine] = EngineRegistry("TTS_ENGINES", SpeechUnavailable)

ALIASES = {"tts-1": None, "tts-1-hd": None, "gpt-4o-mini-tts": None, "default": None}


def _default_engine() -> str:
    if settings.TTS_ENGINE == "piper":
        try:  # whether piper is installed; imported here only, as the engine itself imports it when it loads
            import piper  # noqa: F401
        except ImportError:
            return "espeak-ng"
    return settings.TTS_ENGINE


def get_speech_engine(engine: str | None = None, voice: str | None = None) -> SpeechEngine:
    """The shared engine for an engine name and voice (defaults from settings)."""
    engine = engine or _default_engine()
    voice = settings.TTS_VOICE if voice is None else voice
    return _engines.get(engine, voice, lambda engine_class: _offering(engine_class(_config(voice)), engine, voice))


def _config(voice: str) -> SynthesisConfig:
    return SynthesisConfig(
        voice=voice,
        threads=settings.TTS_THREADS,
        base_url=settings.TTS_BASE_URL,
        model=settings.TTS_MODEL,
        api_key=(api_key_from_env(settings.TTS_API_KEY_ENV) or ""),
    )


def _offering(candidate: SpeechEngine, engine: str, voice: str) -> SpeechEngine:
    """The engine, if it offers ``voice`` (a speech server's voices are its own to check)."""
    if voice and voice not in candidate.voices() and engine != "openai":
        raise SpeechUnavailable(
            f"The voice '{voice[:60]}' is not offered here. Choose one of: {', '.join(candidate.voices())}.",
            code="voice_not_found",
            status=400,
        )
    return candidate
