"""The remote speech engines against a real OpenAI-compatible server: another instance of this product (its
/v1/audio/speech and /v1/audio/transcriptions), so both directions of speech can move to another machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice.synthesis.base import SynthesisConfig
from voice.synthesis.openai import OpenAISpeechEngine
from voice.transcription.base import EngineConfig
from voice.transcription.remote import RemoteTranscriptionEngine

pytestmark = pytest.mark.django_db(transaction=True)
AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def test_remote_speech_and_transcription(daphne_server, token):
    from voice.audio.decoding import decode

    base = f"{daphne_server.url}/v1"
    speech = OpenAISpeechEngine(SynthesisConfig(base_url=base, api_key=token, voice="alloy")).synthesize(
        "The remote voice works."
    )
    assert speech.sample_rate == 24_000 and 0.5 < speech.seconds < 5
    samples = decode(AUDIO / "weather.wav", max_seconds=60, timeout=30).samples
    engine = RemoteTranscriptionEngine(
        EngineConfig(model="whisper-1", cache_dir=Path("."), base_url=base, api_key=token)
    )
    transcript = engine.transcribe(samples)
    assert "weather" in transcript.text.lower() and transcript.language in ("en", "english")
    assert transcript.segments


def test_remote_engines_fail_clearly(daphne_server):
    from voice.synthesis.base import SpeechError
    from voice.transcription.errors import TranscriptionError

    with pytest.raises(SpeechError, match="refused"):
        OpenAISpeechEngine(SynthesisConfig(base_url=f"{daphne_server.url}/v1", api_key="wrong")).synthesize("Hi.")
    with pytest.raises(TranscriptionError, match="not reach"):
        RemoteTranscriptionEngine(EngineConfig(model="whisper-1", cache_dir=Path("."), base_url="http://127.0.0.1:9")
                                  ).transcribe(np.zeros(16000, "float32"))  # fmt: skip
