"""The faster-whisper engine (CTranslate2, int8 on CPU), on the same bundled weights.

Short utterances (conversation mode) can be encoded in a shorter window than Whisper's 30 s: the encoder's
cost is that of the window, whatever the clip's length (0.38 s for tiny.en on 2 cores), and CTranslate2's
encoder takes any length. The clip, a second of silence after it, and padding to at least
``SHORT_WINDOW_MIN`` seconds: shorter windows make Whisper repeat itself, 10 s gave the same words as 30 s
on the benchmark's questions, in 0.15–0.2 s instead of 0.45–0.55 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.transcription.base import Segment, Transcript, TranscriptionEngine
from voice.transcription.errors import TranscriptionError
from voice.transcription.whisper_weights import BUNDLED, ct2_dir

SHORT_WINDOW_MIN = 10.0  # seconds
SHORT_MAX = 28.0  # longer clips take the standard path


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

    def _transcribe_short(self, samples: np.ndarray, language: str | None) -> Transcript | None:
        # faster-whisper is optional (``_load`` says when it is missing), so it is imported where it is used.
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        multilingual = model.model.is_multilingual
        if len(samples) > SHORT_MAX * SAMPLE_RATE or (multilingual and language is None):
            return None  # long clips, and language detection, take the standard 30 s window
        features = model.feature_extractor(np.concatenate([samples, np.zeros(SAMPLE_RATE, dtype=np.float32)]))
        frames = max(features.shape[1], int(SHORT_WINDOW_MIN * 100))
        frames += frames % 2  # the encoder halves the frames
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        encoded = model.encode(features)
        tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language or "en")
        seconds = len(samples) / SAMPLE_RATE
        result = model.model.generate(
            encoded,
            [[*tokenizer.sot_sequence, tokenizer.no_timestamps]],
            beam_size=max(self.config.beam_size, 1),
            max_length=min(int(seconds * 10) + 24, 224),  # fast speech is about 4 tokens a second
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        text = tokenizer.decode(result.sequences_ids[0]).strip()
        return Transcript(text=text, language=language or "en", segments=[Segment(0.0, seconds, text)] if text else [])
