"""Both sides' engines come from one registry (``voice/registry.py``): built once per engine and model or voice,
shared by every caller, and an engine, model or voice the server does not offer is a clear 400 that is never
kept."""

from __future__ import annotations

import pytest

from tests.support.audio import AUDIO
from voice.exceptions import SpeechUnavailable, TranscriptionUnavailable
from voice.synthesis.registry import get_speech_engine
from voice.transcription.registry import get_engine


def test_one_engine_per_engine_and_model_or_voice():
    assert get_engine("faster-whisper", "tiny.en") is get_engine("faster-whisper", "tiny.en")
    assert get_engine("faster-whisper", "tiny.en") is not get_engine("openai-whisper", "tiny.en")
    assert get_speech_engine("espeak-ng", "fr") is get_speech_engine("espeak-ng", "fr")
    assert get_speech_engine("espeak-ng", "fr") is not get_speech_engine("espeak-ng", "de")


@pytest.mark.parametrize(
    ("get", "error", "offered"),
    [
        (get_engine, TranscriptionUnavailable, "TRANSCRIPTION_ENGINES"),
        (get_speech_engine, SpeechUnavailable, "TTS_ENGINES"),
    ],
)
def test_an_unknown_engine_is_a_400_naming_those_offered(get, error, offered, settings):
    with pytest.raises(error) as refused:
        get("nothing-like-it")
    assert refused.value.status == 400
    assert refused.value.message.startswith("Unknown speech engine 'nothing-like-it'. Choose one of: ")
    assert all(name in refused.value.message for name in getattr(settings, offered))


def test_a_voice_not_offered_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(SpeechUnavailable) as refused:
            get_speech_engine("espeak-ng", "klingon")
        assert (refused.value.code, refused.value.status) == ("voice_not_found", 400)


def test_engines_load_only_offered_models():
    for model in ("/etc/passwd", "large-v3", str(AUDIO / ".." / "audio" / "capital.wav")):
        with pytest.raises(TranscriptionUnavailable) as refused:
            get_engine("faster-whisper", model)
        assert refused.value.status == 400
