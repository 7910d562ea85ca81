"""``/s/<share>/audio/<msg>``: a recording on a shared page, for anyone with the link while the link stands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_safe

from chat.domain.db import run_db
from chat.http.shares import unlisted
from voice.models import AudioRecording
from voice.selectors import shared_recording_get

CHUNK_BYTES = 64 * 1024


def _open(recording: AudioRecording) -> tuple[IO[bytes], int]:
    handle = recording.file.open("rb")
    return handle, recording.file.size


async def _chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    # Read off the loop, a piece at a time: a FileResponse's sync iterator is read whole into memory under ASGI,
    # and anyone with the link may ask for a recording of up to VOICE_MAX_UPLOAD_BYTES.
    read = sync_to_async(handle.read, thread_sensitive=False)
    try:
        while chunk := await read(CHUNK_BYTES):
            yield chunk
    finally:
        await sync_to_async(handle.close, thread_sensitive=False)()


@require_safe
async def shared_audio_view(request: HttpRequest, share_id: str, message_id: str) -> StreamingHttpResponse:
    """The recording as ``/api/messages/<msg>/audio`` serves it to its owner, but found through the link."""
    recording = await run_db(shared_recording_get, share_id=share_id, message_id=message_id)
    if recording is None:
        raise Http404("No such recording on this shared page.")
    handle, size = await sync_to_async(_open, thread_sensitive=False)(recording)
    response = StreamingHttpResponse(_chunks(handle), content_type=recording.content_type)
    response["Content-Length"] = str(size)
    unlisted(response)
    return response
