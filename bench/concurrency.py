"""Many paced streams through ONE server process pinned to one core.

    .venv/bin/python bench/concurrency.py [--steps 100,200,400,600] [--seconds 5] [--repeat 3]

The server runs on core 0 (taskset); the test upstream (20 tokens/s per stream) and this load generator run
on core 1. At each step it opens that many streams within one second through `/api/chat` and reports the
added inter-token gap (p50/p99, against the upstream's 50 ms), time to first token p99, server CPU per
relayed event (all of it, so starting and saving each turn is spread over its 100 tokens; and "relay
only", measured while every stream is running), memory per open stream, and the largest step that keeps
the added p99 gap within 50 ms (and also TTFT p99 within 1 s: a server that holds the gap only by making new
streams queue for seconds is not carrying them at once). It runs the product under daphne and under
uvicorn, and a bare Starlette relay of the same upstream as the floor, with httpx and with aiohttp. Each
step runs --repeat times and each figure is the median of those runs (a single p99 on a shared two-core
machine moves by tens of milliseconds from run to run; the runs' p99 gaps are printed too), and the
hypervisor's share of the machine's time ("steal") during the whole benchmark is printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import time

from common import cpu_seconds, pct, setup_django, start_floor, start_server, start_upstream

INTERVAL = 0.05  # 20 tokens/s per stream
# The product under both servers, and the bare Starlette relay with each upstream client as the floor.
SERVERS = {"daphne": 18910, "uvicorn": 18911, "starlette+httpx": 18912, "starlette+aiohttp": 18913}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def one_stream(port: int, token: str, model_id: str, chat_id: str, stagger: float) -> tuple[float, list[float]]:
    await asyncio.sleep(stagger)
    body = json.dumps({"message": "go", "chatInstanceId": chat_id, "chatModelId": model_id}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /api/chat?stream=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    started = time.perf_counter()
    arrivals, tail = [], b""
    while chunk := await reader.read(65536):
        now = time.perf_counter()
        window = tail + chunk
        arrivals += [now] * window.count(b'"type":"token"')
        tail = chunk[-16:]
    writer.close()
    return (arrivals[0] - started if arrivals else float("nan")), arrivals


async def step(port: int, pid: int, token: str, model_id: str, chats: list[str]) -> dict:
    cpu_before, rss_before = cpu_seconds(pid), rss_mb(pid)
    peak = [rss_before]
    samples: list[tuple[float, float]] = []

    async def sample():
        while True:
            peak[0] = max(peak[0], rss_mb(pid))
            samples.append((time.perf_counter(), cpu_seconds(pid)))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    results = await asyncio.gather(
        *(one_stream(port, token, model_id, chat, i / len(chats)) for i, chat in enumerate(chats))
    )
    sampler.cancel()
    cpu = cpu_seconds(pid) - cpu_before
    gaps = [b - a - INTERVAL for _, arr in results for a, b in zip(arr, arr[1:], strict=False)]
    events = sum(len(arr) for _, arr in results)
    return {
        "streams": len(chats),
        "gap_p50": pct(gaps, 50) * 1000,
        "gap_p99": pct(gaps, 99) * 1000,
        "ttft_p99": pct([t for t, _ in results], 99) * 1000,
        "cpu_us_per_event": cpu / max(events, 1) * 1e6,
        "relay_us_per_event": steady_cpu_per_event([arr for _, arr in results if arr], samples),
        "mb_per_stream": (peak[0] - rss_before) / len(chats),
        "events": events,
    }


def steady_cpu_per_event(arrivals: list[list[float]], samples: list[tuple[float, float]]) -> float:
    """Server CPU per event while every stream is running (after the last first token, before the first
    stream ends): the cost of relaying alone, without starting and saving turns. NaN if there is no such
    window (the turns took longer to start than the streams last)."""
    if not arrivals:
        return float("nan")
    start, end = max(arr[0] for arr in arrivals), min(arr[-1] for arr in arrivals)
    inside = [(t, c) for t, c in samples if start <= t <= end]
    if len(inside) < 2:
        return float("nan")
    (t0, c0), (t1, c1) = inside[0], inside[-1]
    events = sum(1 for arr in arrivals for t in arr if t0 <= t <= t1)
    return (c1 - c0) / max(events, 1) * 1e6


def prepare(total: int):
    from django.contrib.auth import get_user_model

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance, ChatModel

    user = get_user_model().objects.create_user(f"load{time.time()}")
    model = ChatModel.objects.create(name=f"load{time.time()}", base_url="http://127.0.0.1:18931/v1")
    chats = ChatInstance.objects.bulk_create(ChatInstance(owner=user, chat_model=model) for _ in range(total))
    return api_token_create(user=user)[1], model.public_id, [c.public_id for c in chats]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="100,200,400,600")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each stream")
    parser.add_argument("--servers", default=",".join(SERVERS), help="which of: " + ", ".join(SERVERS))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step; the median of each figure")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    os.sched_setaffinity(0, {1})  # the load generator on core 1
    setup_django()
    tokens = int(args.seconds / INTERVAL)
    kinds = args.servers.split(",")
    token, model_id, chats = prepare(sum(steps) * len(kinds) * args.repeat)
    from django.db import connection

    print(f"concurrency benchmark: streams of {tokens} tokens at 20 tokens/s; server pinned to core 0; "
          f"each figure the median of {args.repeat} runs; database: {connection.vendor}")  # fmt: skip
    steal_before = steal_ticks()
    print(f"  {'server':17} {'streams':>7} {'gap p50':>8} {'gap p99':>8} {'TTFT p99':>9} {'CPU µs/event':>13} "
          f"{'relay only':>10} {'MB/stream':>9}")  # fmt: skip
    for kind in kinds:
        port = SERVERS[kind]
        upstream = start_upstream(tokens, INTERVAL, 18931, cpu=1)  # a fresh one for each server
        try:
            if kind.startswith("starlette"):
                server = start_floor("bench.starlette_relay:app", port, cpu=0,
                                     env={"RELAY_CLIENT": kind.partition("+")[2]})  # fmt: skip
            else:
                server = start_server(kind, port, cpu=0)
            if server is None:
                print(f"  {kind:17} skipped (pip install -r bench/requirements.txt to measure the floor)")
                continue
            best = best_started = 0
            try:
                for count in steps:
                    runs = []
                    for _ in range(args.repeat):
                        batch, chats = chats[:count], chats[count:]
                        runs.append(asyncio.run(step(port, server.pid, token, model_id, batch)))
                        time.sleep(1)
                    result = {key: median([run[key] for run in runs]) for key in runs[0]}
                    spread = ", ".join(f"{run['gap_p99']:.0f}" for run in runs)
                    if result["gap_p99"] <= 50:
                        best = count
                        if result["ttft_p99"] <= 1000:
                            best_started = count
                    print(f"  {kind:17} {count:7d} {result['gap_p50']:7.1f}ms {result['gap_p99']:7.1f}ms "
                          f"{result['ttft_p99']:8.0f}ms {result['cpu_us_per_event']:13.0f} "
                          f"{result['relay_us_per_event']:10.0f} {result['mb_per_stream']:9.2f}"
                          f"   (gap p99 of each run: {spread} ms)")  # fmt: skip
            finally:
                server.terminate()
                server.wait(10)
            held, started = best or f"fewer than {steps[0]}", best_started or f"fewer than {steps[0]}"
            print(f"  {kind:17} most streams per core with added p99 gap <= 50 ms: {held}; "
                  f"and with TTFT p99 <= 1 s as well: {started}")  # fmt: skip
        finally:
            upstream.terminate()
            upstream.wait(10)
    total, steal = steal_ticks()
    share = (steal - steal_before[1]) / max(total - steal_before[0], 1) * 100
    print(f"  the hypervisor took {share:.1f}% of this machine's CPU time during the run (steal)")


def median(values: list[float]) -> float:
    """The median of the figures that could be measured (NaN where no run could)."""
    known = [v for v in values if not math.isnan(v)]
    return statistics.median(known) if known else float("nan")


def steal_ticks() -> tuple[int, int]:
    """All CPU ticks and the hypervisor's share of them ("steal"), from /proc/stat: a busy host makes every
    figure noisier."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    return sum(fields[:8]), fields[7]


if __name__ == "__main__":
    main()
