"""Any OpenAI-compatible ``/v1/audio/speech`` server (OpenAI, speaches, LocalAI, Kokoro-FastAPI) over httpx.
Asked for raw 16-bit PCM at 24 kHz, OpenAI's ``pcm`` format (``voice.audio.encoding.PCM_RATE``)."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from voice.audio.encoding import PCM_RATE
from voice.synthesis.base import Speech, SpeechEngine, SpeechError


class OpenAISpeechEngine(SpeechEngine):
    name = "openai"

    def voices(self) -> list[str]:
        return [self.config.voice or "alloy"]

    def _load(self) -> Any:
        if not self.config.base_url:
            raise SpeechError(detail="No speech server is configured: set TTS_BASE_URL.")
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        return httpx.Client(base_url=self.config.base_url.rstrip("/"), headers=headers, timeout=self.config.timeout)

    def _synthesize(self, loaded: Any, text: str, speed: float) -> Speech:
        body = {
            "model": self.config.model or "tts-1",
            "input": text,
            "voice": self.config.voice or "alloy",
            "response_format": "pcm",
            "speed": speed,
        }
        try:
            response = loaded.post("/audio/speech", json=body)
        except httpx.HTTPError as error:
            raise SpeechError("Could not reach the speech server.", detail=repr(error)) from error
        if response.status_code >= 400:
            raise SpeechError(
                f"The speech server refused the request (HTTP {response.status_code}).", detail=response.text[:500]
            )
        samples = np.frombuffer(response.content, dtype=np.int16).astype(np.float32) / 32768.0
        return Speech(samples, PCM_RATE)
