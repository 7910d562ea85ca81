"""Websocket fan-out: every saved message reaches every subscriber, across processes.

    .venv/bin/python bench/fanout.py [--subscribers 1000] [--turns 20]

Two server processes share Redis (channels_redis) and one database; the subscribers of one chat are split
between them, and turns run through the first, one a second. In the same run, one process on the in-memory
layer is the reference. Each is measured under uvicorn (the production server) and daphne. It reports
delivered / expected message_saved events (goal exactly 1.0) and the delivery latency from the message's
commit (its completedAt) to its arrival at a subscriber (goal p99 <= 100 ms).

It also prints the CPU spent per websocket frame delivered while the turns run, by the server processes and
by this load generator (the subscribers), which shares the machine's cores with them: together they set the
floor of the latency on a small machine.

``--visible`` sets how many subscribers show the live reply ("all", or a number: the others connect as hidden
tabs, ``?live=0``, which get saved messages only); each value is one more run of every configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from datetime import datetime

import httpx
import websockets
from common import cpu_seconds, pct, setup_django, start_server, start_upstream

REDIS_URL = "redis://127.0.0.1:6379/3"
PACE = 1.0  # seconds between turns: a chat is one conversation, not a firehose


def prepare():
    from django.contrib.auth import get_user_model

    from chat.domain.services import api_token_create
    from chat.models import ChatInstance, ChatModel

    user = get_user_model().objects.create_user(f"fanout{time.time()}")
    model = ChatModel.objects.create(name=f"fanout{time.time()}", base_url="http://127.0.0.1:18631/v1")
    chat = ChatInstance.objects.create(owner=user, chat_model=model)
    return api_token_create(user=user)[1], model.public_id, chat.public_id


async def subscriber(url: str, received: list, ready: asyncio.Event, frames: list[int]) -> None:
    """Reads until cancelled (once, at the end: polling recv() with a timeout costs the client more than
    the server spends on the fan-out)."""
    async with websockets.connect(url, max_queue=None, open_timeout=60) as socket:
        ready.set()
        async for raw in socket:
            now = time.time()
            frames[0] += 1
            if not raw.startswith('{"type":"message_saved"'):
                continue  # the turn's frames: counted, not parsed (this client shares the cores with the servers)
            event = json.loads(raw)
            if event["type"] == "message_saved":
                committed = datetime.fromisoformat(event["message"]["completedAt"].replace("Z", "+00:00"))
                received.append((event["message"]["id"], (now - committed.timestamp()) * 1000))


async def run(
    ports: list[int], pids: list[int], subscribers: int, turns: int, visible: int
) -> tuple[float, int, list[float], tuple[float, float]]:
    from asgiref.sync import sync_to_async

    token, model_id, chat_id = await sync_to_async(prepare)()
    inboxes: list[list] = [[] for _ in range(subscribers)]
    frames = [0]
    readies, tasks = [], []
    for index in range(subscribers):
        port = ports[index % len(ports)]
        ready = asyncio.Event()
        readies.append(ready)
        url = f"ws://127.0.0.1:{port}/ws/chats/{chat_id}/?token={token}" + ("" if index < visible else "&live=0")
        tasks.append(asyncio.create_task(subscriber(url, inboxes[index], ready, frames)))
        if index % 50 == 49:
            await asyncio.sleep(0.05)  # do not stampede the accept queue
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    await asyncio.sleep(1)
    frames[0], client_cpu, server_cpu = 0, time.process_time(), sum(cpu_seconds(pid) for pid in pids)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=60) as http:
        for turn in range(turns):
            body = {"message": f"turn {turn}", "chatInstanceId": chat_id, "chatModelId": model_id}
            response = await http.post("/api/chat", json=body, headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
            await asyncio.sleep(PACE)
    await asyncio.sleep(3)
    client_cpu = time.process_time() - client_cpu
    server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_cpu
    per_frame = (server_cpu / max(frames[0], 1) * 1e6, client_cpu / max(frames[0], 1) * 1e6)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    expected = subscribers * turns * 2
    delivered = sum(len({message for message, _ in inbox}) for inbox in inboxes)
    duplicates = sum(len(inbox) for inbox in inboxes) - delivered
    return delivered / expected, duplicates, [latency for inbox in inboxes for _, latency in inbox], per_frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--layers", default="memory,redis,pubsub", help="which of: memory, redis, pubsub")
    parser.add_argument("--servers", default="uvicorn,daphne", help="which of: uvicorn, uvicorn-wsproto, daphne")
    parser.add_argument("--visible", default="all,10", help="subscribers showing the live reply, per run")
    args = parser.parse_args()
    setup_django()
    upstream = start_upstream(5, 0.0, 18631)
    print(f"fan-out benchmark: {args.subscribers} subscribers on one chat, {args.turns} turns "
          f"({args.subscribers * args.turns * 2} message_saved expected)")  # fmt: skip
    try:
        layers = {
            "memory": ("in-memory layer, 1 process", {}, [18640]),
            "redis": ("Redis layer, 2 processes", {"REDIS_URL": REDIS_URL}, [18641, 18642]),
            "pubsub": (
                "Redis pub/sub, 2 processes",
                {"REDIS_URL": REDIS_URL, "CHANNEL_LAYER": "redis-pubsub"},
                [18643, 18644],
            ),  # fmt: skip
        }
        runs = [(kind, *layers[name], shown) for shown in args.visible.split(",") for kind in args.servers.split(",")
                for name in args.layers.split(",")]  # fmt: skip
        for kind, label, env, ports, shown in runs:
            visible = args.subscribers if shown == "all" else int(shown)
            label = f"{kind}, {label}, {shown} shown"
            servers = [start_server(kind, port, extra_env=env) for port in ports]
            try:
                pids = [server.pid for server in servers]
                ratio, duplicates, latencies, (server_us, client_us) = asyncio.run(
                    run(ports, pids, args.subscribers, args.turns, visible)
                )
            except Exception as error:  # e.g. subscribers not all connected within two minutes
                print(f"  {label:48} did not complete: {type(error).__name__} {error}")
                continue
            finally:
                for server in servers:
                    server.terminate()
                for server in servers:
                    try:
                        server.wait(60)  # 1,000 sockets to close
                    except subprocess.TimeoutExpired:
                        server.kill()
            print(f"  {label:48} delivered/expected {ratio:.4f}  duplicates {duplicates}  "
                  f"latency p50 {pct(latencies, 50):6.1f} ms  p99 {pct(latencies, 99):6.1f} ms  "
                  f"(goal 1.0, p99 <= 100 ms); CPU per frame delivered: servers {server_us:.0f} µs, "
                  f"subscribers {client_us:.0f} µs")  # fmt: skip
    finally:
        upstream.terminate()


if __name__ == "__main__":
    main()
