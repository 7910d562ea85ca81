"""A test client that goes through the project's real ASGI application.

Django's ``AsyncClient`` calls the URL resolver and middleware directly, so it never runs the handler this
project overrides (``config/compat/handler.py``), the request-body guard or the graceful-shutdown wrapper.
This client speaks ASGI to ``config.asgi.application`` instead, with the same calls and response surface the
API tests use (``status_code``, ``json()``, ``content``, ``response["Header"]``, ``streaming_content``), and
returns as soon as the response starts, so a test can act while a reply streams. ``TEST_API_CLIENT=asgi``
makes the suite's ``api`` fixtures use it (``scripts/test.sh`` runs ``tests/api`` that way too).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart


class ASGIResponse:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: AsyncIterator[bytes]):
        self.status_code = status
        self.headers = {name.decode().lower(): value.decode() for name, value in headers}
        self.streaming_content = body
        self._content: bytes | None = None

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers

    async def aread(self) -> bytes:
        if self._content is None:
            self._content = b"".join([piece async for piece in self.streaming_content])
        return self._content

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError("Read the body first: `await response.aread()` (the client's calls do for JSON).")
        return self._content

    def json(self) -> Any:
        return json.loads(self.content)

    def getvalue(self) -> bytes:
        return self.content


class ASGIClient:
    """``client.get/post/patch/delete(path, data, content_type=..., headers=...)`` through the ASGI app."""

    def __init__(self, headers: dict[str, str] | None = None):
        from config.asgi import application

        self.app = application
        self.fixed_headers = headers or {}

    async def get(
        self, path: str, data: dict | None = None, *, content_type: str | None = None, headers: dict | None = None
    ) -> ASGIResponse:
        """``data`` goes to the query string; ``content_type`` is taken, as Django's client takes it, and unused:
        a GET has no body."""
        if data:
            path += ("&" if "?" in path else "?") + urlencode(data)
        return await self.request("GET", path, b"", None, headers)

    async def post(self, path, data=None, content_type=MULTIPART_CONTENT, *, headers=None) -> ASGIResponse:
        return await self.request("POST", path, *self._encode(data, content_type), headers)

    async def patch(self, path, data=None, content_type="application/octet-stream", *, headers=None):
        return await self.request("PATCH", path, *self._encode(data, content_type), headers)

    async def put(self, path, data=None, content_type="application/octet-stream", *, headers=None):
        return await self.request("PUT", path, *self._encode(data, content_type), headers)

    async def delete(self, path, data=None, content_type="application/octet-stream", *, headers=None):
        return await self.request("DELETE", path, *self._encode(data, content_type), headers)

    @staticmethod
    def _encode(data: Any, content_type: str) -> tuple[bytes, str]:
        if data is None:
            return b"", content_type
        if content_type == MULTIPART_CONTENT:
            return encode_multipart(BOUNDARY, data), content_type
        if isinstance(data, bytes | str):
            return (data.encode() if isinstance(data, str) else data), content_type
        return json.dumps(data).encode(), content_type

    async def request(self, method, path, body, content_type, headers) -> ASGIResponse:
        path, _, query = path.partition("?")
        given = {**self.fixed_headers, **(headers or {})}
        all_headers = {"host": "testserver", **{name.lower(): value for name, value in given.items()}}
        if content_type:
            all_headers["content-type"] = content_type
        all_headers["content-length"] = str(len(body))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }  # fmt: skip
        messages: asyncio.Queue = asyncio.Queue()
        finished = asyncio.Event()
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # the client stays until the response ends or the test drops it
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            await messages.put(message)

        task = asyncio.ensure_future(self.app(scope, receive, send))
        task.add_done_callback(lambda _: messages.put_nowait(None))
        start = await messages.get()
        if start is None:
            task.result()  # the app failed before answering: raise its error
            raise RuntimeError("The application ended without a response.")

        async def body_pieces() -> AsyncIterator[bytes]:
            try:
                while (message := await messages.get()) is not None:
                    if message.get("body"):
                        yield message["body"]
                    if not message.get("more_body", False):
                        break
            finally:
                finished.set()  # a reader that stops early hangs up, as a real client would
                await asyncio.gather(task, return_exceptions=True)

        response = ASGIResponse(start["status"], start.get("headers", []), body_pieces())
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
        return response
