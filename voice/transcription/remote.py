"""Any OpenAI-compatible ``/v1/audio/transcriptions`` server (OpenAI, speaches, LocalAI, faster-whisper-server)
over httpx: the audio goes as 16-bit WAV, the text comes back with its language and segments."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from voice.audio import SAMPLE_RATE
from voice.audio.encoding import wav_bytes
from voice.transcription.base import Segment, Transcript, TranscriptionEngine
from voice.transcription.errors import TranscriptionError


class RemoteTranscriptionEngine(TranscriptionEngine):
    name = "openai"

    def _load(self) -> Any:
        if not self.config.base_url:
            raise TranscriptionError(detail="No transcription server is configured: set STT_BASE_URL.")
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        return httpx.Client(base_url=self.config.base_url.rstrip("/"), headers=headers, timeout=120.0)

    def _transcribe(self, samples: np.ndarray, language: str | None) -> Transcript:
        data = {"model": self.model_name, "response_format": "verbose_json"}
        if language:
            data["language"] = language
        try:
            audio = {"file": ("audio.wav", wav_bytes(samples, SAMPLE_RATE), "audio/wav")}
            response = self._model.post("/audio/transcriptions", data=data, files=audio)
        except httpx.HTTPError as error:
            raise TranscriptionError("Could not reach the transcription server.", detail=repr(error)) from error
        if response.status_code >= 400:
            raise TranscriptionError(
                f"The transcription server refused the audio (HTTP {response.status_code}).", detail=response.text[:500]
            )
        try:
            body = response.json()
        except ValueError:
            raise TranscriptionError("The transcription server sent something that is not JSON.") from None
        segments = [
            Segment(float(s.get("start", 0)), float(s.get("end", 0)), str(s.get("text", "")).strip())
            for s in body.get("segments") or []
        ]
        return Transcript(text=str(body.get("text", "")).strip(), language=body.get("language") or language or "",
                          segments=segments)  # fmt: skip
