"""What the relay adds: the same 500-token upstream stream read directly and through the server.

    .venv/bin/python bench/relay.py [--runs 15] [--server daphne|uvicorn]

A test upstream streams 500 tokens 10 ms apart. Each run reads it once directly and once through
``/api/chat`` (and ``/v1/chat/completions``) on a real server process, interleaved, so both see the same
machine. It prints the added time to first token, the added inter-token gap, SSE events per token sent,
and database queries per turn (10 and 500 tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from common import pct, setup_django, start_server, start_upstream, summary

TOKENS, DELAY = 500, 0.010


async def timed_stream(port: int, path: str, body: dict, marker: bytes, headers: str = "") -> tuple[float, list[float]]:
    """Send one POST and note when each token marker arrives; returns (ttft_ms, arrival times in ms)."""
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    start = time.perf_counter()
    writer.write(request)
    arrivals: list[float] = []
    tail = b""
    while True:
        data = await reader.read(65536)
        if not data:
            break
        now = (time.perf_counter() - start) * 1000
        window = tail + data
        arrivals += [now] * window.count(marker)
        tail = data[-len(marker) :]
    writer.close()
    return arrivals[0] if arrivals else float("nan"), arrivals


def gaps(arrivals: list[float]) -> list[float]:
    return [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]


def prepare(upstream_url: str, chats: int):
    from django.contrib.auth import get_user_model

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance, ChatModel

    user = get_user_model().objects.create_user("bench")
    model = ChatModel.objects.create(name="bench", base_url=upstream_url, upstream_model="bench")
    token = api_token_create(user=user)[1]
    ids = [ChatInstance.objects.create(owner=user, chat_model=model).public_id for _ in range(chats)]
    return model, token, ids


def prepare_chats(model, count: int) -> list[str]:
    from chat.models import ChatInstance

    owner = ChatInstance.objects.filter(chat_model=model).values_list("owner", flat=True).first()
    return [ChatInstance.objects.create(owner_id=owner, chat_model=model).public_id for _ in range(count)]


async def ttft_after_gaps(model_id: str, token: str, prepare_more, runs: int = 30) -> dict[float, tuple[float, ...]]:
    """Short replies (the 10-token upstream), each request after ``idle`` seconds of quiet: back to back, the
    server's own cost; after idle, what a person who types now and then meets (an idle machine wakes slowly).
    Medians of the direct TTFT and of what each door adds."""
    import statistics

    auth = f"Authorization: Bearer {token}\r\n"
    direct_body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    v1_body = {"model": model_id, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    table = {}
    for idle in (0.0, 0.5):
        chats = await prepare_more(runs + 1)
        direct, api, v1 = [], [], []
        for run in range(runs + 1):
            await asyncio.sleep(idle)
            ttft, _ = await timed_stream(18432, "/v1/chat/completions", direct_body, b'{"content": "')
            await asyncio.sleep(idle)
            body = {"message": "hi", "chatInstanceId": chats[run], "chatModelId": model_id}
            ttft_api, _ = await timed_stream(18430, "/api/chat?stream=true", body, b'"type":"token"', auth)
            await asyncio.sleep(idle)
            ttft_v1, _ = await timed_stream(18430, "/v1/chat/completions", v1_body, b'{"content":"', auth)
            if run:  # the first is a warm-up
                direct.append(ttft)
                api.append(ttft_api)
                v1.append(ttft_v1)
        table[idle] = (statistics.median(direct), statistics.median([a - d for a, d in zip(api, direct, strict=True)]),
                       statistics.median([v - d for v, d in zip(v1, direct, strict=True)]))  # fmt: skip
    return table


async def count_queries(model_id: str, chat_id: str) -> int:
    """Queries one streamed turn makes (after a warm-up turn), counted on every thread of this process.

    A fresh token is used: a token's last-used time is written at most once a minute, on its first use here.
    """
    from asgiref.sync import sync_to_async
    from django.db.backends import utils
    from django.test import AsyncClient

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance

    chat = await ChatInstance.objects.select_related("owner").aget(public_id=chat_id)
    token = (await sync_to_async(api_token_create)(user=chat.owner))[1]

    counter = {"n": 0}
    original = utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, params, many, executor):
        counter["n"] += 1
        return original(self, sql, params, many, executor)

    utils.CursorWrapper._execute_with_wrappers = counting
    client = AsyncClient()
    try:
        for message in ("warm-up", "counted"):
            counter["n"] = 0
            body = json.dumps({"message": message, "chatInstanceId": chat_id, "chatModelId": model_id})
            response = await client.generic(
                "POST", "/api/chat?stream=true", body, "application/json",
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            async for _ in response.streaming_content:
                pass
    finally:
        utils.CursorWrapper._execute_with_wrappers = original
    return counter["n"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--server", default="daphne")
    args = parser.parse_args()

    setup_django()
    upstream = start_upstream(TOKENS, DELAY, 18431)
    small = start_upstream(10, 0.0, 18432)
    from asgiref.sync import sync_to_async

    model, token, chats = await sync_to_async(prepare)("http://127.0.0.1:18431/v1", args.runs * 2 + 2)
    server = start_server(args.server, 18430)
    auth = f"Authorization: Bearer {token}\r\n"
    direct_body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    results: dict[str, dict[str, list[float]]] = {k: {"ttft": [], "gaps": []} for k in ("direct", "api", "v1")}
    event_ratio: list[float] = []
    v1_ratio: list[float] = []
    try:
        for run in range(args.runs + 1):
            ttft, arr = await timed_stream(18431, "/v1/chat/completions", direct_body, b'{"content": "')
            ttft_api, arr_api = await timed_stream(
                18430, "/api/chat?stream=true",
                {"message": "hi", "chatInstanceId": chats[run], "chatModelId": model.public_id},
                b'"type":"token"', auth,
            )  # fmt: skip
            ttft_v1, arr_v1 = await timed_stream(
                18430, "/v1/chat/completions",
                {"model": model.public_id, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
                b'{"content":"', auth,
            )  # fmt: skip
            if run == 0:
                continue  # warm-up: first connection, imports, pools
            results["direct"]["ttft"].append(ttft)
            results["direct"]["gaps"] += gaps(arr)
            results["api"]["ttft"].append(ttft_api)
            results["api"]["gaps"] += gaps(arr_api)
            results["v1"]["ttft"].append(ttft_v1)
            results["v1"]["gaps"] += gaps(arr_v1)
            event_ratio.append(len(arr_api) / TOKENS)
            v1_ratio.append(len(arr_v1) / TOKENS)
        queries_500 = await count_queries(model.public_id, chats[-1])
        await sync_to_async(model.__class__.objects.filter(pk=model.pk).update)(base_url="http://127.0.0.1:18432/v1")
        queries_10 = await count_queries(model.public_id, chats[-2])
        more = sync_to_async(prepare_chats)
        gaps_table = await ttft_after_gaps(model.public_id, token, prepare_more=lambda n: more(model, n))
    finally:
        for proc in (server, upstream, small):
            proc.terminate()

    direct, api, v1 = results["direct"], results["api"], results["v1"]
    added_ttft = [a - d for a, d in zip(api["ttft"], direct["ttft"], strict=False)]
    added_v1 = [a - d for a, d in zip(v1["ttft"], direct["ttft"], strict=False)]
    print(f"relay benchmark: {TOKENS} tokens, {DELAY * 1000:.0f} ms apart, {args.runs} runs, server={args.server}")
    print(f"  direct upstream TTFT ms      {summary(direct['ttft'])}")
    print(f"  /api/chat TTFT ms            {summary(api['ttft'])}")
    print(f"  added TTFT ms                {summary(added_ttft)}   (goal p50 <= 2)")
    print(f"  direct inter-token gap ms    {summary(direct['gaps'])}")
    print(f"  /api/chat inter-token gap ms {summary(api['gaps'])}")
    print(f"  added inter-token gap p99 ms {pct(api['gaps'], 99) - pct(direct['gaps'], 99):7.2f}   (goal <= 1)")
    print(f"  SSE token events / tokens sent: min {min(event_ratio):.3f} max {max(event_ratio):.3f}   (must be 1.0)")
    print(f"  /v1/chat/completions (stateless) added TTFT ms {summary(added_v1)}   (goal p50 <= 2)")
    print(f"  /v1 added inter-token gap p99 ms {pct(v1['gaps'], 99) - pct(direct['gaps'], 99):7.2f}")
    print(f"  /v1 content chunks / tokens sent: min {min(v1_ratio):.3f} max {max(v1_ratio):.3f}   (must be 1.0)")
    print(f"  DB queries per turn: {queries_10} with 10 tokens, {queries_500} with 500 tokens")
    print("  added TTFT with 10-token replies, by idle time before each request (median of 30; goal p50 <= 2):")
    for idle, (direct_ms, api_ms, v1_ms) in gaps_table.items():
        print(
            f"    {'back to back' if not idle else f'after {idle:g} s idle':<16} direct {direct_ms:5.2f} ms  "
            f"/api/chat +{api_ms:5.2f} ms  /v1 +{v1_ms:5.2f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
