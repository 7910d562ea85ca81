"""A bare Starlette relay of the same upstream: the Python floor the product is compared with (bench only).

    uvicorn bench.starlette_relay:app --port 18900     (needs: pip install starlette)

No database, no auth, no turn logic: read the upstream's stream with httpx and write each token as SSE.
"""

from __future__ import annotations

import json
import os

import httpx
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:18931/v1")
client = httpx.AsyncClient(timeout=httpx.Timeout(30, read=120), limits=httpx.Limits(max_connections=2000))


async def chat(request):
    async def events():
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        async with client.stream("POST", f"{UPSTREAM}/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"]
                    if delta and delta[0]["delta"].get("content"):
                        yield (
                            b'data: {"type":"token","content":'
                            + json.dumps(delta[0]["delta"]["content"]).encode()
                            + b"}\n\n"
                        )

    return StreamingResponse(events(), media_type="text/event-stream")


async def healthz(request):
    return StreamingResponse(iter([b"ok"]))


app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"]), Route("/healthz", healthz)])
