"""The speech-recognition engine interface. Engines take an ``EngineConfig`` and raise
``voice.transcription.errors.TranscriptionError``; they know nothing of settings, models or HTTP. Every engine
takes 16 kHz mono float32 samples (``voice.audio.SAMPLE_RATE``, Whisper's rate)."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from asgiref.sync import sync_to_async


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """What an engine needs: the model (a bundled name, an official name, or a path), where converted and
    cached weights live, and how to run. ``voice.transcription.registry`` builds it from the settings."""

    model: str
    cache_dir: Path
    threads: int = 2
    beam_size: int = 1
    # Automatic language detection chooses only among these (empty: any language Whisper knows).
    languages: tuple[str, ...] = ()
    # A remote engine's server (``voice.transcription.remote``)
    base_url: str = ""
    api_key: str = ""


@dataclass(slots=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(slots=True)
class Transcript:
    text: str
    language: str
    segments: list[Segment] = field(default_factory=list)
    elapsed_ms: int = 0


class TranscriptionEngine(ABC):
    """One loaded model. It loads once per process, and transcribes one recording at a time."""

    name = "engine"

    def __init__(self, config: EngineConfig):
        self.config = config
        self.model_name = config.model
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.load_seconds: float | None = None

    def load(self) -> None:
        with self._load_lock:
            if self._model is None:
                started = time.monotonic()
                self._model = self._load()
                self.load_seconds = time.monotonic() - started

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def transcribe(self, samples: np.ndarray, *, language: str | None = None, short: bool = False) -> Transcript:
        """Transcribe 16 kHz mono float32 audio. Blocking: call it off the event loop.

        ``short``: an utterance of a conversation, where time matters most; an engine that can encode a
        short clip in a window shorter than Whisper's 30 s does (``_transcribe_short``)."""
        self.load()
        samples = np.asarray(samples, dtype=np.float32)  # the engines compute in float32
        with self._run_lock:  # On two cores, one transcription at a time; the others queue here.
            started = time.monotonic()
            if language is None and len(self.config.languages) == 1:
                language = self.config.languages[0]
            elif language is None and self.config.languages:
                probabilities = self._language_probabilities(samples)
                if probabilities:
                    language = max(self.config.languages, key=lambda code: probabilities.get(code, 0.0))
            transcript = (short and self._transcribe_short(samples, language)) or self._transcribe(samples, language)
        transcript.elapsed_ms = int((time.monotonic() - started) * 1000)
        return transcript

    async def atranscribe(self, samples: np.ndarray, *, language: str | None = None, short: bool = False) -> Transcript:
        # Not thread-sensitive: transcription must not queue behind ORM calls on the request thread.
        return await sync_to_async(self.transcribe, thread_sensitive=False)(samples, language=language, short=short)

    def _language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        """The probability of each language Whisper knows for this audio ({} if the engine cannot tell)."""
        return {}

    @abstractmethod
    def _load(self) -> Any: ...

    @abstractmethod
    def _transcribe(self, samples: np.ndarray, language: str | None) -> Transcript: ...

    def _transcribe_short(self, samples: np.ndarray, language: str | None) -> Transcript | None:
        """A short clip in a short window, or None where the engine cannot (then ``_transcribe`` runs)."""
        return None
