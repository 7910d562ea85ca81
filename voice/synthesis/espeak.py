"""espeak-ng (the Debian package's command): instant, robotic, and many languages. The fallback when piper is
not installed."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from typing import Any

import numpy as np

from voice.synthesis.base import Speech, SpeechEngine, SpeechError

WORDS_PER_MINUTE = 175


class EspeakEngine(SpeechEngine):
    name = "espeak-ng"

    def voices(self) -> list[str]:
        return ["en-us", "en", "fr", "de", "es", "it", "pt", "nl"]

    def _load(self) -> Any:
        command = shutil.which("espeak-ng")
        if command is None:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng).")
        return command

    def _synthesize(self, loaded: Any, text: str, speed: float) -> Speech:
        voice = self.config.voice or "en-us"
        rate = str(int(WORDS_PER_MINUTE * (speed or 1.0)))
        try:
            done = subprocess.run(
                [loaded, "--stdout", "-v", voice, "-s", rate, "--", text],
                capture_output=True, timeout=self.config.timeout, check=True,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError) as error:
            raise SpeechError("espeak-ng failed to speak.", detail=repr(error)) from error
        with wave.open(io.BytesIO(done.stdout)) as wav:
            frames = wav.readframes(wav.getnframes())
            rate_hz = wav.getframerate()
        return Speech(np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0, rate_hz)
