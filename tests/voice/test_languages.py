"""WHISPER_LANGUAGES limits automatic language detection to the languages listed (the engines' config)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_detection_chooses_among_the_listed_languages(engine):
    from voice.audio.decoding import decode
    from voice.transcription.base import EngineConfig

    samples = decode(AUDIO / "weather.wav", max_seconds=60, timeout=30).samples
    make = import_string(settings.TRANSCRIPTION_ENGINES[engine])
    config = {"model": "base", "cache_dir": Path(settings.WHISPER_CACHE_DIR), "threads": 2}
    # English speech with English not listed: the likelier of the two listed, never English.
    assert make(EngineConfig(**config, languages=("fr", "de"))).transcribe(samples).language in {"fr", "de"}
    assert make(EngineConfig(**config, languages=("en", "fr"))).transcribe(samples).language == "en"
    assert make(EngineConfig(**config, languages=("de",))).transcribe(samples).language == "de"
