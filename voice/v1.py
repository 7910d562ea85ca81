"""``POST /v1/audio/transcriptions``, as OpenAI's SDKs call it, on this server's Whisper engines."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.exceptions import BadRequest
from chat.http.api import admit
from chat.http.v1 import openai_view
from voice.engines import ALIASES
from voice.languages import parse_language
from voice.services import transcribe_upload
from voice.transcription.base import Segment, Transcript
from voice.views import uploaded_audio

FORMATS = {"json", "text", "verbose_json", "srt", "vtt"}


def engine_and_model(name: str) -> tuple[str | None, str | None]:
    """``whisper-1`` (or ``default``) is the default engine; otherwise an engine, a model, or ``engine:model``,
    where the model is one of ``WHISPER_MODELS``. Anything else, a path on the server included, is refused."""
    if name in ALIASES:
        return None, None
    engine, _, model = name.partition(":")
    if engine not in settings.TRANSCRIPTION_ENGINES:
        engine, model = None, name
    if model and model not in settings.WHISPER_MODELS:
        offered = ["whisper-1", *settings.TRANSCRIPTION_ENGINES, *settings.WHISPER_MODELS]
        raise BadRequest(f"Unknown model '{name[:100]}'. Use one of: {', '.join(offered)}, or engine:model.",
                         code="model_not_found")  # fmt: skip
    return engine, model or None


def _timestamp(seconds: float, separator: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def subtitles(segments: list[Segment], kind: str) -> str:
    separator = "," if kind == "srt" else "."
    blocks = []
    for index, segment in enumerate(segments, start=1):
        times = f"{_timestamp(segment.start, separator)} --> {_timestamp(segment.end, separator)}"
        blocks.append(f"{index}\n{times}\n{segment.text}" if kind == "srt" else f"{times}\n{segment.text}")
    body = "\n\n".join(blocks) + "\n"
    return body if kind == "srt" else "WEBVTT\n\n" + body


def verbose(transcript: Transcript, duration_ms: int) -> dict:
    return {
        "task": "transcribe",
        "language": transcript.language,
        "duration": duration_ms / 1000,
        "text": transcript.text,
        "segments": [
            {
                "id": i,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": 0.0,
                "compression_ratio": 0.0,
                "no_speech_prob": 0.0,
            }  # fmt: skip
            for i, s in enumerate(transcript.segments)
        ],
    }


@openai_view(["POST"])
async def transcriptions_view(request: HttpRequest) -> HttpResponse:
    response_format = request.POST.get("response_format") or "json"
    if response_format not in FORMATS:
        raise BadRequest(f"'response_format' must be one of: {', '.join(sorted(FORMATS))}.", code="invalid_value")
    model = request.POST.get("model")
    if not model:
        raise BadRequest(
            "'model' is required (use whisper-1 for the default engine).", code="missing_required_parameter"
        )
    engine, model_name = engine_and_model(model)
    upload = uploaded_audio(request, "file")
    language = parse_language(request.POST.get("language"))
    release = await admit(request)  # the same rate and concurrency limits as a turn
    try:
        transcript, recording = await transcribe_upload(upload, language=language, engine=engine, model=model_name)
    finally:
        await release()
    if response_format == "json":
        return JsonResponse({"text": transcript.text})
    if response_format == "verbose_json":
        return JsonResponse(verbose(transcript, recording.duration_ms))
    text = transcript.text if response_format == "text" else subtitles(transcript.segments, response_format)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")
