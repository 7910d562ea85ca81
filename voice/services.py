"""Voice's writes: voice turns (the recording is stored and linked to the user's message in the same
transaction), an upload transcribed, and what conversation mode records of a spoken reply."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from chat.domain.selectors import chat_get
from chat.domain.services import TurnBegun, turn_begin, turn_find_replay, turn_model
from chat.exceptions import Busy
from chat.models import Message
from voice.audio import SAMPLE_RATE
from voice.audio.decoding import FORMATS, decode, has_speech
from voice.audio.encoding import wav_bytes
from voice.exceptions import NoSpeech
from voice.models import AudioRecording, audio_path
from voice.selectors import chat_is_answering
from voice.transcription.base import Transcript
from voice.transcription.errors import TranscriptionError
from voice.transcription.registry import get_engine, unavailable, voice_engine


@dataclass(slots=True)
class Recording:
    """An accepted upload and its transcription, ready to be stored."""

    path: Path
    format: str
    size_bytes: int
    duration_ms: int
    language: str
    engine: str
    model_name: str
    transcription_ms: int


def voice_turn_check(
    *, user: AbstractBaseUser, chat_id: str, model_id: str | None, client_message_id: str | None
) -> TurnBegun | None:
    """Refuse early (unknown chat or model, busy chat) before the costly decode and transcription.

    Returns the earlier turn when ``client_message_id`` names one, so a retry is not transcribed again.
    """
    chat = chat_get(user=user, chat_id=chat_id)
    chat_model = turn_model(chat, model_id)
    if client_message_id and (replay := turn_find_replay(chat, chat_model, client_message_id)):
        return replay
    if chat_is_answering(chat=chat):
        raise Busy()
    return None


def voice_turn_begin(
    *,
    user: AbstractBaseUser,
    chat_id: str,
    model_id: str | None,
    transcript: str,
    recording: Recording,
    client_message_id: str | None = None,
) -> TurnBegun:
    """Save the transcript as the user's message with its recording, and an empty streaming reply."""
    with open(recording.path, "rb") as handle:
        name = default_storage.save(audio_path(None, f"audio.{FORMATS[recording.format][1]}"), File(handle))
    try:
        with transaction.atomic():
            begun = turn_begin(
                user=user,
                chat_id=chat_id,
                model_id=model_id,
                content=transcript,
                source=Message.Source.VOICE,
                client_message_id=client_message_id,
            )
            if begun.replay:
                default_storage.delete(name)
                return begun
            fields = {key: value for key, value in asdict(recording).items() if key != "path"}
            AudioRecording.objects.create(
                message=begun.user_message, file=name, content_type=FORMATS[recording.format][0], **fields
            )
            return begun
    except BaseException:
        default_storage.delete(name)
        raise


async def transcribe_upload(
    upload: UploadedFile, *, language: str | None, engine: str | None = None, model: str | None = None,
    voice: bool = False,
) -> tuple[Transcript, Recording]:
    """Decode, check for speech and transcribe; each refusal is a clear 4xx and nothing is stored.
    ``voice``: a voice message, heard by ``voice_engine`` (else the engine and model named, or the defaults)."""
    path = Path(upload.temporary_file_path())
    decoded = await sync_to_async(decode, thread_sensitive=False)(
        path, max_seconds=settings.VOICE_MAX_SECONDS, timeout=settings.VOICE_DECODE_TIMEOUT
    )
    if not await sync_to_async(has_speech, thread_sensitive=False)(decoded.samples):
        raise NoSpeech()
    transcriber = voice_engine(language) if voice else get_engine(engine, model)
    try:
        transcript = await transcriber.atranscribe(decoded.samples, language=language)
    except TranscriptionError as error:
        raise unavailable(error) from error
    if not transcript.text.strip():
        raise NoSpeech()
    recording = Recording(
        path=path,
        format=decoded.format,
        size_bytes=upload.size,
        duration_ms=decoded.duration_ms,
        language=transcript.language,
        engine=transcriber.name,
        model_name=transcriber.model_name,
        transcription_ms=transcript.elapsed_ms,
    )
    return transcript, recording


def utterance_turn_begin(
    *, user: AbstractBaseUser, chat_id: str, samples: np.ndarray, transcript: Transcript, engine: str, model: str
) -> TurnBegun:
    """A conversation's utterance as a WAV recording of the user's message, and the turn begun."""
    with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as handle:
        path = Path(handle.name)
    try:
        path.write_bytes(wav_bytes(samples, SAMPLE_RATE))
        recording = Recording(
            path=path, format="wav", size_bytes=path.stat().st_size, duration_ms=int(len(samples) / SAMPLE_RATE * 1000),
            language=transcript.language, engine=engine, model_name=model, transcription_ms=transcript.elapsed_ms,
        )  # fmt: skip
        return voice_turn_begin(user=user, chat_id=chat_id, model_id=None, transcript=transcript.text,
                                recording=recording)  # fmt: skip
    finally:
        path.unlink(missing_ok=True)


def recording_latency_set(
    *, recording: AudioRecording, text_ms: int, first_token_ms: int | None, first_audio_ms: int | None
) -> None:
    """End of speech to final transcription, to the reply's first token and to its first audio, in ms."""
    AudioRecording.objects.filter(pk=recording.pk).update(
        text_after_ms=text_ms, first_token_after_ms=first_token_ms, first_audio_after_ms=first_audio_ms
    )


def reply_interrupt(*, message_id: str, spoken: dict[int, str], playing: int | None) -> None:
    """A reply cut off by the person speaking: ``interrupted``, holding the sentences they heard."""
    heard = [spoken[index] for index in sorted(spoken) if playing is None or index <= playing]
    Message.objects.filter(public_id=message_id).exclude(status=Message.Status.STREAMING).update(
        status=Message.Status.INTERRUPTED, finish_reason="barge_in", content=" ".join(heard)
    )
