"""An ASGI guard that refuses oversized request bodies before they are read."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

UPLOAD_PATHS = ("/api/chat/voice", "/v1/audio/transcriptions")
IMPORT_PATH = "/api/imports"  # an export to import: IMPORT_MAX_BYTES
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and boundaries around the file


def size_text(count: int) -> str:
    """A number of bytes as a person reads it: ``200 MB``, ``50 kB``."""
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count / 1e3:,.0f} kB"


def _limit(path: str) -> int:
    if path.startswith(UPLOAD_PATHS):
        return settings.VOICE_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    if path == IMPORT_PATH:
        return settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD
    return settings.API_MAX_BODY_BYTES


def _refusal(path: str) -> HttpResponse:
    """The 413, rendered as the door it came to renders errors."""
    from chat.exceptions import ChatError
    from chat.http.api import error_response
    from chat.http.v1 import openai_error_response

    if path.startswith(UPLOAD_PATHS):
        message = f"The upload is too large; the limit is {settings.VOICE_MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        code = "file_too_large" if path.startswith("/v1/") else "audio_too_large"
    elif path == IMPORT_PATH:
        message = f"The file is too large; the limit is {size_text(settings.IMPORT_MAX_BYTES)}."
        code = "import_too_large"
    else:
        message = f"The request body is too large; the limit is {settings.API_MAX_BODY_BYTES / 1e6:.0f} MB."
        code = "request_too_large"
    error = ChatError(message, code=code, status=413)
    return openai_error_response(error) if path.startswith("/v1/") else error_response(error)


class BodySizeLimit:
    """Answers 413 at once when Content-Length already says the body is too large (Django would read it
    whole first); cuts off a chunked body as soon as it passes the limit, so a client cannot stream
    gigabytes into memory or a temporary file. Audio uploads and imports have their own, larger limits."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = _limit(scope["path"])
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await self._refuse(send, scope["path"])
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, counting_receive, send)

    async def _refuse(self, send, path: str) -> None:
        response = _refusal(path)
        headers = [(b"content-type", response["Content-Type"].encode()),
                   (b"content-length", str(len(response.content)).encode()), (b"connection", b"close")]  # fmt: skip
        # 413 at every door (OpenAI's shape would say 400): the body was never read, and proxies know 413.
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})
