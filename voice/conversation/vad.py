"""Voice activity detection for conversation mode: the Silero VAD model that faster-whisper ships
(``faster_whisper/assets/silero_vad_v6.onnx``), run by onnxruntime one 32 ms frame at a time with its state
carried from frame to frame, and the end-of-turn rule built on it.

``Utterances`` is fed 16 kHz mono float32 audio in pieces of any size. A turn starts once speech has lasted
``min_speech_ms`` (a cough or a click does not start one) and ends after ``silence_ms`` of silence (600 ms by
default, not the 2 s timers of simpler designs). Each finished utterance keeps ``pre_roll_ms`` of the audio
before the speech started, so its first syllable is not cut.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE

RATE = SAMPLE_RATE  # the microphone's audio as the page sends it, and as Whisper takes it
FRAME = 512  # samples: 32 ms, the model's window at 16 kHz
CONTEXT = 64
_session: list[Any] = []
_session_lock = threading.Lock()


def _model_path() -> Path:
    import faster_whisper  # only for where its bundled model file is; ~230 ms to import, so not at startup

    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


def _shared_session() -> Any:
    """One onnxruntime session for every stream (each keeps its own state); one thread, no arena."""
    with _session_lock:
        if not _session:
            import onnxruntime  # ~160 ms to import: not until the first conversation

            options = onnxruntime.SessionOptions()
            options.inter_op_num_threads = options.intra_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 4
            _session.append(
                onnxruntime.InferenceSession(
                    str(_model_path()), providers=["CPUExecutionProvider"], sess_options=options
                )
            )
        return _session[0]


class SileroVAD:
    """Speech probability of successive 32 ms frames of one stream."""

    def __init__(self) -> None:
        self.session = _shared_session()
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        window = np.concatenate([self.context, frame]).reshape(1, -1).astype(np.float32, copy=False)
        out, self.h, self.c = self.session.run(None, {"input": window, "h": self.h, "c": self.c})
        self.context = frame[-CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])


@dataclass(slots=True)
class Utterance:
    samples: np.ndarray  # the speech, with its pre-roll
    speech_ms: int  # how long the person spoke
    ended_at: float  # the stream's clock (seconds of audio fed) when the silence that ended it began
    final: bool = True  # False: a pause that may yet end the turn (``tentative_ms`` of silence so far)


@dataclass
class Utterances:
    silence_ms: int = 600
    min_speech_ms: int = 250
    pre_roll_ms: int = 300
    start_threshold: float = 0.5
    end_threshold: float = 0.35
    max_ms: int = 30_000
    # After this much silence the speech so far is handed out as a tentative utterance, so that it can be
    # transcribed while the rest of ``silence_ms`` is waited out (if the person goes on, it is dropped).
    tentative_ms: int = 96
    vad: SileroVAD = field(default_factory=SileroVAD)

    def __post_init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre: deque[np.ndarray] = deque(maxlen=max(self.pre_roll_ms // 32, 1))
        self._frames: list[np.ndarray] = []
        self._speech = self._silence = 0  # frames
        self._run = 0  # frames of speech in a row, now
        self._speaking = False
        self.fed = 0  # samples fed so far
        self.level = 0.0  # RMS of the last frame, for a level meter

    @property
    def heard_ms(self) -> int:
        """How long speech has gone on without a pause, now (0 in silence)."""
        return self._run * 32

    def feed(self, audio: np.ndarray) -> list[Utterance]:
        done: list[Utterance] = []
        self._pending = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        while len(self._pending) >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            self.fed += FRAME
            self.level = float(np.sqrt(np.mean(frame * frame)))
            if (utterance := self._frame(frame)) is not None:
                done.append(utterance)
        return done

    def _frame(self, frame: np.ndarray) -> Utterance | None:
        probability = self.vad(frame)
        self._run = self._run + 1 if probability >= self.start_threshold else 0
        if not self._speaking:
            self._pre.append(frame)
            self._speech = self._speech + 1 if probability >= self.start_threshold else 0
            if self._speech * 32 >= self.min_speech_ms:
                self._speaking, self._silence = True, 0
                self._frames = list(self._pre)
            return None
        self._frames.append(frame)
        if probability < self.end_threshold:
            self._silence += 1
        else:
            self._silence = 0
            self._speech += 1
        if self._silence * 32 == max(self.tentative_ms // 32, 1) * 32 and self._silence * 32 < self.silence_ms:
            samples = np.concatenate(self._frames[: len(self._frames) - self._silence])
            return Utterance(samples, self._speech * 32, (self.fed - self._silence * FRAME) / RATE, final=False)
        if self._silence * 32 >= self.silence_ms or len(self._frames) * 32 >= self.max_ms:
            samples = np.concatenate(self._frames[: len(self._frames) - self._silence])
            ended = (self.fed - self._silence * FRAME) / RATE
            utterance = Utterance(samples, self._speech * 32, ended)
            self._speaking, self._speech, self._silence, self._frames = False, 0, 0, []
            self._pre.clear()
            return utterance
        return None
