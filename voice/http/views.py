"""``POST /api/chat/voice``: a recording in, its transcription and the streamed answer out."""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpRequest, HttpResponse

from chat.domain.db import run_db
from chat.domain.services import TurnBegun
from chat.exceptions import BadRequest
from chat.http.api import admit_turn, api_view, optional_str, require_str
from chat.http.responses import TurnFlags, turn_response
from chat.models import Message
from chat.turns.events import Transcription
from chat.turns.run import TurnOptions, start_turn
from voice.audio.encoding import MIME
from voice.exceptions import AudioTooLarge, EmptyAudio
from voice.selectors import recording_get, reply_get
from voice.services import transcribe_upload, voice_turn_begin, voice_turn_check
from voice.synthesis.registry import get_speech_engine
from voice.synthesis.sentences import sentences
from voice.synthesis.worker import encoded_speech
from voice.transcription.languages import parse_language


def uploaded_audio(request: HttpRequest, field: str) -> UploadedFile:
    upload = request.FILES.get(field)
    if upload is None:
        raise BadRequest(f"Attach the recording as the multipart file field '{field}'.", code="missing_field")
    if upload.size == 0:
        raise EmptyAudio()
    limit = settings.VOICE_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise AudioTooLarge(
            f"The recording is too large ({upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB)."
        )
    return upload


def _transcription_event(message: Message) -> Transcription:
    audio = getattr(message, "audio", None)
    return Transcription(
        text=message.content,
        language=audio.language if audio else "",
        duration_ms=audio.duration_ms if audio else 0,
        message_id=message.public_id,
    )


@api_view(["POST"])
async def voice_turn_view(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    form = request.POST
    flags = TurnFlags.parse(request, form)
    chat_id = require_str(form, "chatInstanceId")
    model_id = optional_str(form, "chatModelId")  # none: the chat's own model
    language = parse_language(form.get("language"))
    client_message_id = optional_str(form, "clientMessageId")
    upload = uploaded_audio(request, "audio")
    user = request.api_user

    async def begin() -> TurnBegun:
        begun = await run_db(
            voice_turn_check, user=user, chat_id=chat_id, model_id=model_id, client_message_id=client_message_id
        )
        if begun is not None:
            return begun  # A retry: the earlier turn, not transcribed again.
        transcript, recording = await transcribe_upload(upload, language=language, voice=True)
        return await run_db(
            voice_turn_begin,
            user=user,
            chat_id=chat_id,
            model_id=model_id,
            transcript=transcript.text,
            recording=recording,
            client_message_id=client_message_id,
        )

    begun, release = await admit_turn(request, begin)
    event = _transcription_event(begun.user_message)
    turn = start_turn(begun, TurnOptions(speak=flags.speak), started=started, prelude=[event], on_finish=release)
    transcription = {key: value for key, value in event.to_dict().items() if key != "type"}
    return await turn_response(turn, begun, flags, {"transcription": transcription})


@api_view(["GET"])
async def message_audio_view(request: HttpRequest, message_id: str) -> FileResponse:
    """The original recording of a voice message, for its owner and for staff who may view recordings."""
    recording = await run_db(recording_get, user=request.api_user, message_id=message_id)
    handle = await sync_to_async(recording.file.open, thread_sensitive=False)("rb")
    response = FileResponse(handle, content_type=recording.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@api_view(["GET"])
async def message_speech_view(request: HttpRequest, message_id: str) -> HttpResponse:
    """A reply spoken as a person with speech on heard it (sentence by sentence, code left out), made on
    demand: Ogg Opus by default, ``?format=mp3|wav`` also."""
    reply = await run_db(reply_get, user=request.api_user, message_id=message_id)
    fmt = request.GET.get("format") or "opus"
    if fmt not in ("opus", "mp3", "wav"):
        raise BadRequest("'format' must be opus, mp3 or wav.", code="invalid_value")
    engine = get_speech_engine()
    audio = [piece async for piece in encoded_speech(engine, sentences(reply.content), fmt)]
    response = HttpResponse(b"".join(audio), content_type=MIME[fmt])
    response["Cache-Control"] = "private, max-age=3600"
    return response
