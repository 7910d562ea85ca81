"""Uploaded audio: recognise the format from its bytes, decode it safely to 16 kHz mono float32.

Decoding uses PyAV (FFmpeg's libraries, shipped in the ``av`` wheel) in process, with limits on size,
duration and time, so that a hostile file cannot make the server decode for long or hold much memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.exceptions import AudioTooLong, CorruptAudio, EmptyAudio, UnsupportedAudio

# (format, content type, file extension)
FORMATS = {
    "webm": ("audio/webm", "webm"),
    "ogg": ("audio/ogg", "ogg"),
    "mp4": ("audio/mp4", "m4a"),
    "wav": ("audio/wav", "wav"),
    "mp3": ("audio/mpeg", "mp3"),
    "flac": ("audio/flac", "flac"),
    "aac": ("audio/aac", "aac"),
}


def detect_format(head: bytes) -> str | None:
    """The container format from the first bytes of a file, or None when it is not audio we accept."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"  # EBML: WebM or Matroska
    if head.startswith(b"OggS"):
        return "ogg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"  # MP4, M4A, MOV, 3GP: audio is checked when decoding
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "mp3"  # ID3 tag, or an MPEG-1/2 layer III frame sync
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS
    return None


@dataclass(slots=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, 16 kHz
    format: str

    @property
    def duration_ms(self) -> int:
        return int(len(self.samples) * 1000 / SAMPLE_RATE)


def sniff(path: Path) -> str:
    """The accepted format of a file, or an error that says what is wrong with it."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise EmptyAudio()
    fmt = detect_format(head)
    if fmt is None:
        raise UnsupportedAudio()
    return fmt


def decode(path: Path, *, max_seconds: float, timeout: float) -> DecodedAudio:
    """Decode to 16 kHz mono float32, refusing files that are not audio, are damaged, or run too long."""
    import av  # PyAV loads FFmpeg's libraries (~130 ms): not until a recording is decoded

    fmt = sniff(path)
    deadline = time.monotonic() + timeout
    max_samples = int(max_seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UnsupportedAudio("The file holds no audio track.")
            stream = container.streams.audio[0]
            claimed = _claimed_seconds(container, stream)
            if claimed is not None and claimed > max_seconds * 1.05:
                raise _too_long(max_seconds)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    total += len(chunk)
                    if total > max_samples:
                        raise _too_long(max_seconds)
                    chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise CorruptAudio("Decoding the audio took too long; the file may be damaged.")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, ValueError, IndexError) as error:
        raise CorruptAudio(detail=repr(error)) from error
    if not chunks:
        raise CorruptAudio("The file holds no decodable audio. It may be truncated or damaged.")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if len(samples) > max_samples:
        raise _too_long(max_seconds)
    if claimed is not None and len(samples) / SAMPLE_RATE < claimed * 0.9 - 0.2:
        raise CorruptAudio("The recording ends early: the file looks truncated or damaged.")
    return DecodedAudio(samples=samples, format=fmt)


def _claimed_seconds(container: Any, stream: Any) -> float | None:
    """The duration the file's headers claim, if they claim one (browser recordings often do not)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration / 1_000_000)
    return None


def _too_long(max_seconds: float) -> AudioTooLong:
    return AudioTooLong(f"The recording is too long. The limit is {_duration(max_seconds)}.")


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


def has_speech(samples: np.ndarray) -> bool:
    """Whether the audio holds speech: an energy floor first, then Silero VAD (bundled with faster-whisper)."""
    if len(samples) < SAMPLE_RATE // 10:
        return False
    frame = SAMPLE_RATE // 50  # 20 ms
    usable = samples[: len(samples) // frame * frame].reshape(-1, frame)
    loudest = float(np.sqrt((usable**2).mean(axis=1)).max()) if len(usable) else 0.0
    if loudest < 0.01:  # about -40 dBFS: silence, or a muted microphone
        return False
    try:  # faster-whisper is optional, and heavy (~230 ms to import): only once there is sound to look at
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return True
    return bool(get_speech_timestamps(samples, VadOptions(min_speech_duration_ms=200)))
