"""A bare Starlette relay of the same upstream: the Python floor the product is compared with (bench only).

    RELAY_CLIENT=aiohttp uvicorn bench.starlette_relay:app --port 18900     (pip install -r bench/requirements.txt)

No database, no auth, no turn logic: read the upstream's stream (with httpx's own transport, or with aiohttp
when RELAY_CLIENT=aiohttp) and write each token as SSE.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:18931/v1")
CLIENT = os.environ.get("RELAY_CLIENT", "httpx")
BODY = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def token_block(line: str | bytes) -> bytes | None:
    delta = json.loads(line[6:])["choices"]
    if delta and delta[0]["delta"].get("content"):
        return b'data: {"type":"token","content":' + json.dumps(delta[0]["delta"]["content"]).encode() + b"}\n\n"
    return None


if CLIENT == "aiohttp":
    import aiohttp

    session: aiohttp.ClientSession | None = None

    async def upstream_lines():
        global session
        if session is None:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2000))
        async with session.post(f"{UPSTREAM}/chat/completions", json=BODY) as response:
            async for line in response.content:
                yield line
else:
    import httpx

    client = httpx.AsyncClient(timeout=httpx.Timeout(30, read=120), limits=httpx.Limits(max_connections=2000))

    async def upstream_lines():
        async with client.stream("POST", f"{UPSTREAM}/chat/completions", json=BODY) as response:
            async for line in response.aiter_lines():
                yield line


async def chat(request):
    async def events():
        async for line in upstream_lines():
            if line.startswith((b"data: {", "data: {")[CLIENT != "aiohttp"]) and (block := token_block(line)):
                yield block

    return StreamingResponse(events(), media_type="text/event-stream")


async def healthz(request):
    return StreamingResponse(iter([b"ok"]))


app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"]), Route("/healthz", healthz)])
