"""The faster-whisper engine (CTranslate2, int8 on CPU), on the same bundled weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from voice.transcription.base import Segment, Transcript, TranscriptionEngine
from voice.transcription.errors import TranscriptionError
from voice.transcription.weights import BUNDLED, ct2_dir


class FasterWhisperEngine(TranscriptionEngine):
    name = "faster-whisper"

    def _load(self) -> Any:
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise TranscriptionError("faster-whisper is not installed.", detail=repr(error)) from error
        source = str(ct2_dir(self.model_name, self.config.cache_dir)) if self.model_name in BUNDLED else self.model_name
        try:
            return WhisperModel(
                source,
                device="cpu",
                compute_type="int8",
                cpu_threads=self.config.threads,
                download_root=str(self.config.cache_dir),
                local_files_only=True,  # a CTranslate2 folder or a model already in the cache; never a download
            )
        except Exception as error:
            raise TranscriptionError(
                f"The Whisper model '{self.model_name}' could not be loaded.", detail=repr(error)
            ) from error

    def _language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        if not self._model.model.is_multilingual:
            return {}
        _language, _probability, everything = self._model.detect_language(audio=samples)
        return dict(everything)

    def _transcribe(self, samples: np.ndarray, language: str | None) -> Transcript:
        segments, info = self._model.transcribe(
            samples,
            language=language,
            beam_size=max(self.config.beam_size, 1),
            condition_on_previous_text=False,
        )
        parts = [Segment(s.start, s.end, s.text.strip()) for s in segments]
        text = " ".join(p.text for p in parts if p.text).strip()
        return Transcript(text=text, language=info.language or language or "", segments=parts)
