"""The openai-whisper engine (PyTorch, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from voice.transcription.base import Segment, Transcript, TranscriptionEngine
from voice.transcription.errors import TranscriptionError
from voice.transcription.whisper_weights import BUNDLED, openai_checkpoint


class OpenAIWhisperEngine(TranscriptionEngine):
    name = "openai-whisper"

    def _load(self) -> Any:
        # PyTorch and openai-whisper take over a second to import: only a process that uses this engine does.
        import torch
        import whisper

        torch.set_num_threads(self.config.threads)
        if self.model_name in BUNDLED:
            source = str(openai_checkpoint(self.model_name, self.config.cache_dir))
        elif Path(self.model_name).is_file():
            source = self.model_name
        else:
            # An official name loads only if its checkpoint is already in the cache: openai-whisper would
            # download it otherwise, and nothing is downloaded at run time.
            url = whisper._MODELS.get(self.model_name, "")
            if not url or not (self.config.cache_dir / Path(url).name).is_file():
                raise TranscriptionError(
                    f"The Whisper model '{self.model_name}' is not installed on this server.",
                    detail=f"no checkpoint for it in {self.config.cache_dir}",
                )
            source = self.model_name
        try:
            model = whisper.load_model(source, device="cpu", download_root=str(self.config.cache_dir))
        except Exception as error:
            raise TranscriptionError(
                f"The Whisper model '{self.model_name}' could not be loaded.", detail=repr(error)
            ) from error
        if self.model_name in BUNDLED:
            checkpoint = torch.load(source, map_location="cpu", weights_only=False)
            model.set_alignment_heads(checkpoint["alignment_heads"])
        return model

    def _language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        import whisper  # imported with the model (``_load``), never with this module

        if not self._model.is_multilingual:
            return {}
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), self._model.dims.n_mels).to(self._model.device)
        _tokens, probabilities = self._model.detect_language(mel)
        return dict(probabilities)

    def _transcribe(self, samples: np.ndarray, language: str | None) -> Transcript:
        beam = self.config.beam_size
        result = self._model.transcribe(
            samples,
            language=language,
            fp16=False,  # CPU: half precision is not supported and would only warn.
            temperature=0.0,
            beam_size=beam if beam > 1 else None,
            condition_on_previous_text=False,
        )
        segments = [Segment(s["start"], s["end"], s["text"].strip()) for s in result["segments"]]
        return Transcript(
            text=result["text"].strip(), language=result.get("language") or language or "", segments=segments
        )
