"""Voice turns: the recording is stored and linked to the user's message in the same transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

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
from voice.audio import FORMATS, decode, has_speech
from voice.engines import get_engine, unavailable
from voice.exceptions import NoSpeech
from voice.models import AudioRecording, audio_path
from voice.transcription.base import Transcript
from voice.transcription.errors import TranscriptionError


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
    if Message.objects.filter(chat=chat, status=Message.Status.STREAMING).exists():
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
    upload: UploadedFile, *, language: str | None, engine: str | None = None, model: str | None = None
) -> tuple[Transcript, Recording]:
    """Decode, check for speech and transcribe; each refusal is a clear 4xx and nothing is stored."""
    path = Path(upload.temporary_file_path())
    decoded = await sync_to_async(decode, thread_sensitive=False)(
        path, max_seconds=settings.VOICE_MAX_SECONDS, timeout=settings.VOICE_DECODE_TIMEOUT
    )
    if not await sync_to_async(has_speech, thread_sensitive=False)(decoded.samples):
        raise NoSpeech()
    transcriber = get_engine(engine, model)
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
