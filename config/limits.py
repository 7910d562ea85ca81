"""An ASGI guard that refuses oversized uploads before their body is read."""

from __future__ import annotations

import json

from django.conf import settings

UPLOAD_PATHS = ("/api/chat/voice", "/v1/audio/transcriptions")
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and boundaries around the file


class UploadSizeLimit:
    """Answers 413 at once when Content-Length already says the upload is too large; cuts off a chunked
    upload as soon as it passes the limit, so a client cannot stream gigabytes into a temporary file."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(UPLOAD_PATHS):
            return await self.app(scope, receive, send)
        limit = settings.VOICE_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
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
        message = f"The upload is too large; the limit is {settings.VOICE_MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        if path.startswith("/v1/"):
            body = {"error": {"message": message, "type": "invalid_request_error", "code": "file_too_large"}}
        else:
            body = {"error": {"code": "audio_too_large", "message": message}}
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                   (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
