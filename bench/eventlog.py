"""What the turn event log costs per event, in process memory and in Redis.

    .venv/bin/python bench/eventlog.py [--turns 50] [--tokens 200]

Many turns stream at once (a token each every 10 ms, as a model does), and every event goes through the
turn's publisher: appended to the log, and published every 50 ms for all turns at once (no tab is open, so
the cost is the log's). The CPU this process spends on it, per event, is compared in the same run with the
cost of writing the same event as an SSE block (what every stream already pays per token) and with a run
that produces the events and publishes nothing. Redis's own CPU is not counted: it is another process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)

REDIS_URL = "redis://127.0.0.1:6379/4"


async def stream_turns(turns: int, tokens: int, publish: bool) -> tuple[float, int]:
    """CPU seconds spent, and events made, by ``turns`` turns of ``tokens`` tokens each."""
    from chat.realtime.base import TurnRef
    from chat.turns.events import StreamEnd, StreamStart, Token, logged
    from chat.turns.publish import TurnPublisher

    stamp = time.time_ns()
    publishers = [TurnPublisher(TurnRef(f"ci_bench{stamp}{i}", 2, f"msg_bench{stamp}{i}")) for i in range(turns)]
    if publish:
        for publisher in publishers:
            publisher.start(None)  # no tab listens, so the user message is never serialized
    events = 0
    started = time.process_time()
    for index in range(tokens + 2):
        for publisher in publishers:
            event = StreamStart("c", "m", 1, "r", "cm") if index == 0 else Token("tok ")
            if index == tokens + 1:
                event = StreamEnd("stop")
            payload = logged(event, index + 1)
            if publish:
                publisher.event(payload)
            events += 1
        await asyncio.sleep(0.01)
    if publish:
        await asyncio.gather(*(publisher.close() for publisher in publishers))
    return time.process_time() - started, events


def run(backend: str, turns: int, tokens: int, runs: int) -> list[tuple[float, float]]:
    """Per run: (µs of CPU per event spent on the log, µs per event for producing the events alone)."""
    from django.conf import settings

    from chat.realtime import get_backend
    from chat.turns import publish

    settings.REALTIME_BACKEND = backend
    settings.REDIS_URL = REDIS_URL if backend == "redis" else ""
    get_backend.cache_clear()
    # No tab is open: the Redis backend cannot know that without a round trip and would build websocket
    # frames for the chat's group, a cost of the websockets (bench/fanout.py), not of the log.
    publish.broadcast.may_have_listeners = lambda chat_id: False

    async def measure() -> list[tuple[float, float]]:
        await stream_turns(turns, 5, publish=True)  # warm: connection pool, scripts, code paths
        results = []
        for _ in range(runs):
            bare_cpu, events = await stream_turns(turns, tokens, publish=False)
            cpu, events = await stream_turns(turns, tokens, publish=True)
            results.append(((cpu - bare_cpu) / events * 1e6, bare_cpu / events * 1e6))
        return results

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from chat.http.sse import render_event
    from chat.turns.events import Token

    token = Token("tok ")
    loops = 200_000
    sse_us = min(timeit.repeat(lambda: render_event(token, 7), number=loops, repeat=5)) / loops * 1e6
    print(f"event log benchmark: {args.turns} turns at once, {args.tokens} tokens each, 10 ms apart, "
          f"median of {args.runs} runs")  # fmt: skip
    print(f"  reference: one SSE token block written      {sse_us:6.2f} µs per event")
    for backend in ("memory", "redis"):
        results = sorted(run(backend, args.turns, args.tokens, args.runs))
        log_us, bare_us = results[len(results) // 2]
        print(f"  {backend:6} log: append + publish          {log_us:6.2f} µs per event "
              f"({log_us / sse_us:4.1f}x an SSE block; producing the event alone: {bare_us:.2f} µs)")  # fmt: skip


if __name__ == "__main__":
    main()
