"""The speech synthesis interface. Engines know nothing of settings, models or HTTP."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from config.errors import CodedError


class SpeechError(CodedError, code="speech_unavailable"):
    """Speech synthesis is not available on this server."""


@dataclass(frozen=True, slots=True)
class SynthesisConfig:
    """What an engine needs: a voice (engine-specific; "" for its default), threads, and for a remote
    engine its server."""

    voice: str = ""
    threads: int = 2
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout: float = 30.0


@dataclass(slots=True)
class Speech:
    """Mono audio: float32 samples in [-1, 1] at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class SpeechEngine(ABC):
    """One engine with its voice loaded once per process; one synthesis at a time."""

    name = "engine"

    def __init__(self, config: SynthesisConfig):
        self.config = config
        self._loaded: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def load(self) -> Any:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def synthesize(self, text: str, *, speed: float = 1.0) -> Speech:
        """Speak ``text``. Blocking: call it off the event loop."""
        loaded = self.load()
        with self._run_lock:
            return self._synthesize(loaded, text, speed)

    @abstractmethod
    def voices(self) -> list[str]:
        """The voices this engine offers (the first is its default)."""

    @abstractmethod
    def _load(self) -> Any: ...

    @abstractmethod
    def _synthesize(self, loaded: Any, text: str, speed: float) -> Speech: ...
