"""``POST /v1/audio/transcriptions`` and ``POST /v1/audio/speech``, as OpenAI's SDKs call them, on this
server's Whisper and speech synthesis engines."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from chat.exceptions import BadRequest
from chat.http.api import admit, parse_json, refuse_nul
from chat.http.v1 import openai_view
from voice.audio.encoding import MIME
from voice.http.views import uploaded_audio
from voice.services import transcribe_upload
from voice.synthesis.base import SpeechEngine
from voice.synthesis.registry import ALIASES as SPEECH_ALIASES
from voice.synthesis.registry import get_speech_engine
from voice.synthesis.sentences import sentences
from voice.synthesis.worker import encoded_speech, synthesize
from voice.transcription.base import Segment, Transcript
from voice.transcription.languages import parse_language
from voice.transcription.registry import ALIASES

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


# OpenAI's voices all mean this server's default voice, so SDK code written for OpenAI works unchanged.
MAX_VOICE_CHARS = 100
OPENAI_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}


def _speech_request(body: dict) -> tuple[SpeechEngine, str, str, float]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required (use tts-1 for the default engine).", code="missing_required_parameter")
    if model not in SPEECH_ALIASES and model not in settings.TTS_ENGINES:
        offered = ", ".join(["tts-1", *settings.TTS_ENGINES])
        raise BadRequest(f"Unknown model '{model[:100]}'. Use one of: {offered}.", code="model_not_found")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'input' must be the text to speak.", code="invalid_value")
    if len(text) > settings.TTS_MAX_INPUT_CHARS:
        raise BadRequest(f"'input' is too long ({len(text):,} characters; the limit is "
                         f"{settings.TTS_MAX_INPUT_CHARS:,}).", code="invalid_value")  # fmt: skip
    refuse_nul(text, "input", code="invalid_value")
    fmt = body.get("response_format") or "mp3"
    if fmt not in MIME:
        raise BadRequest(f"'response_format' must be one of: {', '.join(MIME)}.", code="invalid_value")
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
        raise BadRequest("'speed' must be a number from 0.25 to 4.0.", code="invalid_value")
    voice = body.get("voice")
    if isinstance(voice, dict):  # the newer SDKs' {"id": ...}
        voice = voice.get("id")
    if not isinstance(voice, str) or not voice:
        raise BadRequest("'voice' is required (e.g. alloy, or a voice of this server).", code="invalid_value")
    if len(voice) > MAX_VOICE_CHARS:
        raise BadRequest(f"'voice' must be a voice name of at most {MAX_VOICE_CHARS} characters.",
                         code="invalid_value")  # fmt: skip
    engine = get_speech_engine(None if model in SPEECH_ALIASES else model, "" if voice in OPENAI_VOICES else voice)
    return engine, text, fmt, float(speed)


@openai_view(["POST"])
async def speech_view(request: HttpRequest) -> HttpResponse:
    """``POST /v1/audio/speech``: the text spoken, streamed sentence by sentence as it is made."""
    engine, text, fmt, speed = _speech_request(parse_json(request))
    release = await admit(request)  # the same rate and concurrency limits as a turn
    texts = sentences(text, markdown=False)
    try:
        first = await synthesize(engine, texts[0], speed=speed)  # a broken engine is a 503, not a cut stream
    except BaseException:
        await release()
        raise

    async def audio():
        try:
            async for piece in encoded_speech(engine, texts, fmt, speed=speed, first=first):
                yield piece
        finally:
            await release()

    return StreamingHttpResponse(audio(), content_type=MIME[fmt])
