"""Speech recognition judged on reviewers' corrections: the labelled set (recordings whose transcript a
reviewer corrected), replayed through any installed engine, and exported for other tools."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from insights.speech import Errors, errors
from voice.audio.decoding import decode
from voice.models import AudioRecording
from voice.transcription.registry import get_engine


def labelled_set(*, limit: int | None = None) -> QuerySet[AudioRecording]:
    """The recordings of corrected voice messages, newest first."""
    queryset = (AudioRecording.objects.exclude(message__corrected_content="").select_related("message")
                .order_by("-message__created_at", "-pk"))  # fmt: skip
    return queryset[:limit] if limit else queryset


@dataclass
class EngineScore:
    engine: str
    model: str
    errors: Errors = field(default_factory=Errors)
    audio_ms: int = 0
    elapsed_ms: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        rtf = self.elapsed_ms / self.audio_ms if self.audio_ms else None
        return {"engine": self.engine, "model": self.model, "wer": self.errors.wer, "cer": self.errors.cer,
                "rtf": rtf, "n": self.errors.pairs}  # fmt: skip


def engines_evaluate(*, engines: list[tuple[str, str]], limit: int | None = None) -> list[EngineScore]:
    """Transcribe every labelled recording with each (engine, model) and score it against the correction."""
    recordings = []
    for recording in labelled_set(limit=limit):
        decoded = decode(Path(recording.file.path), max_seconds=settings.VOICE_MAX_SECONDS,
                         timeout=settings.VOICE_DECODE_TIMEOUT)  # fmt: skip
        recordings.append((recording, decoded.samples))
    scores = []
    for engine_name, model in engines:
        engine = get_engine(engine_name, model)
        engine.load()  # loading is not transcribing: kept out of the real-time factor
        score = EngineScore(engine_name, engine.model_name)
        for recording, samples in recordings:
            started = time.monotonic()
            transcript = engine.transcribe(samples, language=recording.language or None)
            score.elapsed_ms += int((time.monotonic() - started) * 1000)
            score.audio_ms += int(len(samples) / 16)
            score.errors.add(errors(recording.message.corrected_content, transcript.text, recording.language))
        scores.append(score)
    return scores


def labelled_set_export(*, out: Path, limit: int | None = None) -> int:
    """Write the labelled set to ``out``: ``manifest.jsonl`` (one recording a line) and ``audio/`` (its files)."""
    (out / "audio").mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for recording in labelled_set(limit=limit):
            message = recording.message
            name = f"audio/{message.public_id}.{recording.format}"
            with recording.file.open("rb") as source, open(out / name, "wb") as target:
                shutil.copyfileobj(source, target)
            manifest.write(json.dumps({
                "audio": name, "text": message.corrected_content, "transcript": message.content,
                "language": recording.language, "duration_ms": recording.duration_ms, "engine": recording.engine,
                "model": recording.model_name, "message_id": message.public_id,
                "created_at": message.created_at.isoformat(),
            }, ensure_ascii=False) + "\n")  # fmt: skip
            written += 1
    return written
