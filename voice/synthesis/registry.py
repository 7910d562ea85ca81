"""Where voice meets its speech synthesis engines: the settings choose an engine and build its config, and an
engine's errors become the API's errors. Synthesis runs on one thread of its own, so sentences come out in
the order they went in and never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.utils.module_loading import import_string

from chat.models import api_key_from_env
from voice.encoding import StreamEncoder
from voice.exceptions import SpeechUnavailable
from voice.synthesis.base import Speech, SpeechEngine, SpeechError, SynthesisConfig

_engines: dict[tuple[str, str], SpeechEngine] = {}
_lock = threading.Lock()
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")

ALIASES = {"tts-1": None, "tts-1-hd": None, "gpt-4o-mini-tts": None, "default": None}


def _default_engine() -> str:
    if settings.TTS_ENGINE == "piper":
        try:
            import piper  # noqa: F401
        except ImportError:
            return "espeak-ng"
    return settings.TTS_ENGINE


def get_speech_engine(engine: str | None = None, voice: str | None = None) -> SpeechEngine:
    """The shared engine for an engine name and voice (defaults from settings)."""
    engine = engine or _default_engine()
    voice = settings.TTS_VOICE if voice is None else voice
    if engine not in settings.TTS_ENGINES:
        raise SpeechUnavailable(
            f"Unknown speech engine '{engine}'. Choose one of: {', '.join(settings.TTS_ENGINES)}.", status=400
        )
    with _lock:
        if (engine, voice) not in _engines:
            config = SynthesisConfig(
                voice=voice,
                threads=settings.TTS_THREADS,
                base_url=settings.TTS_BASE_URL,
                model=settings.TTS_MODEL,
                api_key=(api_key_from_env(settings.TTS_API_KEY_ENV) or ""),
            )
            candidate = import_string(settings.TTS_ENGINES[engine])(config)
            if voice and voice not in candidate.voices() and engine != "openai":
                raise SpeechUnavailable(
                    f"The voice '{voice[:60]}' is not offered here. Choose one of: {', '.join(candidate.voices())}.",
                    code="voice_not_found",
                    status=400,
                )
            _engines[(engine, voice)] = candidate
        return _engines[(engine, voice)]


async def encoded_speech(
    engine: SpeechEngine, texts: list[str], fmt: str, *, speed: float = 1.0, first: Speech | None = None
) -> AsyncIterator[bytes]:
    """``texts`` spoken one after the other as one stream in ``fmt``, each piece as soon as it is made
    (``first``: the first one, already synthesised)."""
    encoder = StreamEncoder(fmt)
    for index, text in enumerate(texts):
        speech = first if index == 0 and first is not None else await synthesize(engine, text, speed=speed)
        yield encoder.encode(speech)
    yield encoder.close()


def preload() -> None:
    """Load the default speech engine on the synthesis thread, in the background."""

    def load() -> None:
        try:
            get_speech_engine().load()
        except Exception as error:  # logged; a spoken reply will say it in text only
            logging.getLogger(__name__).warning("The speech engine could not be loaded: %s", error)

    _thread.submit(load)


async def synthesize(engine: SpeechEngine, text: str, *, speed: float = 1.0) -> Speech:
    """Speak ``text`` on the synthesis thread; ``SpeechUnavailable`` (503) if the engine cannot."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_thread, lambda: engine.synthesize(text, speed=speed))
    except SpeechError as error:
        raise SpeechUnavailable(error.message, code=error.code, detail=error.detail) from error
