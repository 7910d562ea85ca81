"""Synthesised speech encoded for a client, as it is made: each ``StreamEncoder.encode`` returns the bytes
that became ready, so a reply's audio can be sent sentence by sentence in one stream. It takes samples and
their rate, and knows nothing of the engines that made them.

Formats (OpenAI's ``response_format`` names): ``opus`` (Ogg Opus, the speech events' format: small, and
played by browsers), ``mp3``, ``wav`` (16-bit, its length left open as OpenAI's streamed WAV does), ``pcm``
(raw 16-bit little-endian at 24 kHz, OpenAI's), and ``flac`` and ``aac``. Encoding goes through PyAV.
"""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import numpy as np

MIME = {
    "opus": "audio/ogg; codecs=opus",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/L16; rate=24000; channels=1",
    "flac": "audio/flac",
    "aac": "audio/aac",
}
_CONTAINERS = {"opus": ("ogg", "libopus", 48_000), "mp3": ("mp3", "libmp3lame", 24_000),
               "flac": ("flac", "flac", 24_000), "aac": ("adts", "aac", 24_000)}  # fmt: skip
PCM_RATE = 24_000


def _resample(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    """Linear resampling: speech from 16–24 kHz voices, to the rates the encoders take."""
    if source == target or not len(samples):
        return samples
    count = int(round(len(samples) * target / source))
    resampled: np.ndarray = np.interp(np.linspace(0, len(samples) - 1, count), np.arange(len(samples)), samples)
    return resampled.astype(np.float32)


def _int16(samples: np.ndarray) -> bytes:
    return bytes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())


class _Sink:
    """A write-only file for PyAV: with nothing to seek, muxers write as they go instead of going back to
    patch headers, so what is written can be sent at once."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)


class StreamEncoder:
    def __init__(self, fmt: str, sample_rate: int | None = None):
        if fmt not in MIME:
            raise ValueError(fmt)
        self.format, self.mime = fmt, MIME[fmt]
        self._rate = sample_rate
        self._started = False
        self._sink = _Sink()
        self._container: Any = None
        self._stream: Any = None
        self._pts = 0

    def encode(self, samples: np.ndarray, sample_rate: int) -> bytes:
        """The bytes ready after this piece of speech (mono float32 in [-1, 1] at ``sample_rate``)."""
        if self.format == "pcm":
            return _int16(_resample(samples, sample_rate, PCM_RATE))
        if self.format == "wav":
            rate = self._rate = self._rate or sample_rate
            head = b"" if self._started else _wav_header(rate)
            self._started = True
            return head + _int16(_resample(samples, sample_rate, rate))
        return self._encode_av(samples, sample_rate)

    def close(self) -> bytes:
        if self._container is None:
            return b""
        assert self._stream is not None
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._take()

    def _take(self) -> bytes:
        data = b"".join(self._sink.parts)
        self._sink.parts.clear()
        return data

    def _encode_av(self, samples: np.ndarray, sample_rate: int) -> bytes:
        import av  # PyAV loads FFmpeg's libraries (~130 ms): not until speech is encoded

        container_format, codec, rate = _CONTAINERS[self.format]
        if self._container is None:
            # Ogg pages of 20 ms: each sentence's audio leaves with it rather than a second later.
            options = {"page_duration": "20000"} if container_format == "ogg" else {}
            self._container = av.open(self._sink, mode="w", format=container_format, options=options)
            self._stream = self._container.add_stream(codec, rate=rate, layout="mono")
        assert self._stream is not None
        samples = _resample(samples, sample_rate, rate)
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = rate, self._pts
        self._pts += len(samples)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._take()


def _wav_header(rate: int) -> bytes:
    """A WAV header whose sizes say "until the end" (0xFFFFFFFF), for a stream of unknown length."""
    size = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", size))  # fmt: skip


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A whole 16-bit mono WAV file (sizes filled in), for a recording stored or sent as a file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(_int16(samples))
    return buffer.getvalue()


def encode_whole(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    encoder = StreamEncoder(fmt)
    return encoder.encode(samples, sample_rate) + encoder.close()
