"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks, scriptable per request.

It speaks HTTP/1.1 with keep-alive and chunked streaming over plain asyncio sockets, records every request
it receives, and notes when a client closes its connection, so tests can see what the upstream saw.

Run it alone with ``python -m tests.support.llm_server --port 9000 --tokens 500 --delay 0.01``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.support.threaded import ThreadedServer


@dataclass
class Script:
    """How the server answers one request."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " world", "!"])
    delay: float = 0.0  # seconds between tokens
    first_delay: float = 0.0  # extra wait before the first token
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: bool = True
    # None, or one of: "status:<code>", "reset", "malformed", "stall_mid", "no_done"
    fault: str | None = None
    fault_after: int = 2  # tokens sent before a mid-stream fault
    echo: bool = False  # answer with the last user message
    # Tool calls to stream after the tokens, as OpenAI does: [{"id", "name", "arguments"}], the arguments
    # split into pieces of ``argument_piece`` characters; then finish_reason "tool_calls".
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    argument_piece: int = 4


@dataclass
class Seen:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    tokens_sent: int = 0
    closed_by_client_at: float | None = None
    completed: bool = False


class LLMServer(ThreadedServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.default = Script()
        self.queue: deque[Script] = deque()
        self.requests: list[Seen] = []
        self.open_connections = 0

    # --- scripting ------------------------------------------------------------------------------
    def script(self, **kwargs: Any) -> Script:
        """Queue the behaviour of the next request (later requests use ``default``)."""
        script = Script(**kwargs)
        self.queue.append(script)
        return script

    def reset(self) -> None:
        self.default, self.queue, self.requests = Script(), deque(), []

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def chat_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=2048)
        self.port = self._server.sockets[0].getsockname()[1]

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    # --- HTTP -------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                keep_open = await self._respond(request, reader, writer)
                if not keep_open or request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, RuntimeError):
            return
        finally:
            self.open_connections -= 1
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> Seen | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", 0))
        raw = await reader.readexactly(length) if length else b""
        body = json.loads(raw) if raw else {}
        seen = Seen(path=path, body=body, headers=headers, received_at=time.monotonic())
        self.requests.append(seen)
        return seen

    async def _respond(self, seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if seen.path.endswith("/models"):
            await self._json(writer, 200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            return True
        script = self.queue.popleft() if self.queue else self.default
        if script.fault and script.fault.startswith("status:"):
            status = int(script.fault.split(":")[1])
            await self._json(writer, status, {"error": {"message": f"scripted {status}", "type": "test"}})
            return True
        tokens = list(script.tokens)
        if script.echo:
            users = [m for m in seen.body.get("messages", []) if m.get("role") == "user"]
            tokens = [users[-1]["content"]] if users else ["(no user message)"]
        if not seen.body.get("stream"):
            await self._json(writer, 200, self._completion(seen, tokens, script))
            return True
        return await self._stream(seen, script, tokens, reader, writer)

    async def _json(self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()

    def _completion(self, seen: Seen, tokens: list[str], script: Script) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": seen.body.get("model", "test-model"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": len(tokens), "total_tokens": 7 + len(tokens)},
        }

    async def _stream(
        self, seen: Seen, script: Script, tokens: list[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

        async def watch_close() -> None:
            # The client sends nothing more on this connection while we stream; EOF means it hung up.
            data = await reader.read(1)
            if not data:
                seen.closed_by_client_at = time.monotonic()

        watcher = asyncio.create_task(watch_close())
        try:
            return await self._stream_body(seen, script, tokens, writer, watcher)
        except (ConnectionError, asyncio.CancelledError):
            if seen.closed_by_client_at is None:
                seen.closed_by_client_at = time.monotonic()
            return False
        finally:
            watcher.cancel()
            try:
                await watcher
            except (asyncio.CancelledError, ConnectionError):
                pass

    async def _stream_body(
        self, seen: Seen, script: Script, tokens: list[str], writer: asyncio.StreamWriter, watcher: asyncio.Task
    ) -> bool:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": "m"}

        async def send(data: bytes) -> None:
            if watcher.done():
                raise ConnectionResetError("client closed")
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()

        async def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            await send(b"data: " + json.dumps(payload).encode() + b"\n\n")

        await chunk({"role": "assistant", "content": ""})
        if script.first_delay:
            await asyncio.sleep(script.first_delay)
        for text in script.reasoning:
            await chunk({"reasoning_content": text})
        for index, text in enumerate(tokens):
            if script.fault in {"reset", "malformed", "stall_mid"} and index == script.fault_after:
                return await self._fault(script, send, writer)
            if script.delay and index:
                await asyncio.sleep(script.delay)
            await chunk({"content": text})
            seen.tokens_sent += 1
        if script.fault == "no_done":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        for index, call in enumerate(script.tool_calls):
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": ""},
            }
            await chunk({"tool_calls": [head]})
            arguments, size = call["arguments"], script.argument_piece
            for start in range(0, len(arguments), size):
                piece = {"index": index, "function": {"arguments": arguments[start : start + size]}}
                await chunk({"tool_calls": [piece]})
        await chunk({}, "tool_calls" if script.tool_calls else script.finish_reason)
        if script.usage and seen.body.get("stream_options", {}).get("include_usage"):
            usage = {"prompt_tokens": 7, "completion_tokens": len(tokens), "total_tokens": 7 + len(tokens)}
            await send(b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n")
        await send(b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        seen.completed = True
        return True

    async def _fault(self, script: Script, send, writer: asyncio.StreamWriter) -> bool:
        if script.fault == "reset":
            writer.transport.abort()
            return False
        if script.fault == "malformed":
            await send(b"data: {this is not json\n\n")
            await asyncio.sleep(30)
            return False
        await asyncio.sleep(3600)  # stall_mid: hold the connection open and say nothing
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = LLMServer(port=args.port)
    server.default = Script(tokens=[f" t{i}" for i in range(args.tokens)], delay=args.delay)

    async def run() -> None:
        await server.start()
        print(f"listening on {server.base_url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
