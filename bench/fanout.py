"""Websocket fan-out: every saved message reaches every subscriber, across processes.

    .venv/bin/python bench/fanout.py [--subscribers 1000] [--turns 20]

Two server processes share Redis (channels_redis) and one database; the subscribers of one chat are split
between them, and turns run through the first, one a second. Both of channels_redis's layers are measured: its
pub/sub layer (the product's with Redis) and its list-based one (``--layers redis``: the server processes run
on ``bench/settings_list_layer.py``, the product's settings with that layer). One process on the in-memory
layer is measured too. Each is measured under uvicorn (the production server) and daphne. It reports
delivered / expected message_saved events (goal exactly 1.0) and the delivery latency from the message's
commit (its completedAt) to its arrival at a subscriber (goal p99 <= 100 ms). The reference, measured first in
the same run, is a bare Starlette app that pushes the same frames to the same sockets
(``bench/starlette_fanout.py``): each row prints its p99 against the floor's, which moves with the machine as
the product's does.

It also prints the CPU spent per websocket frame delivered while the turns run, by the server processes and
by this load generator (the subscribers), which shares the machine's cores with them: together they set the
floor of the latency on a small machine. The subscribers are a minimal reading client by default
(``--client raw``); ``--client websockets`` uses the websockets library's, which costs about twice as much.

``--visible`` sets how many subscribers show the live reply ("all", or a number: the others connect as hidden
tabs, ``?live=0``, which get saved messages only); each value is one more run of every configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import time
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import websockets
from common import cpu_seconds, floor_installed, pct, setup_django, start_floor, start_server, start_upstream

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


def record(raw: bytes | str, now: float, received: list) -> None:
    """A message_saved frame's delivery latency, from its commit (the turn's other frames are only counted)."""
    event = json.loads(raw)
    committed = datetime.fromisoformat(event["message"]["completedAt"].replace("Z", "+00:00"))
    received.append((event["message"]["id"], (now - committed.timestamp()) * 1000))


SAVED = b'{"type":"message_saved"'


async def subscriber(url: str, received: list, ready: asyncio.Event, frames: list[int]) -> None:
    """The ``websockets`` library's client (``--client websockets``). Reads until cancelled (once, at the end:
    polling recv() with a timeout costs the client more than the server spends on the fan-out)."""
    async with websockets.connect(url, max_queue=None, open_timeout=60) as socket:
        ready.set()
        async for raw in socket:
            now = time.time()
            frames[0] += 1
            if raw.startswith(SAVED.decode()):
                record(raw, now, received)


class Subscriber(asyncio.Protocol):
    """A websocket client that only reads (``--client raw``, the default): the handshake, then each frame
    parsed where it lands, with no task or queue per message. A thousand of them share this machine's two
    cores with the servers, so their cost is the benchmark's own noise: this client spends about half the CPU
    per frame that the ``websockets`` client does (the benchmark prints it either way)."""

    def __init__(self, path: str, received: list, ready: asyncio.Event, frames: list[int]):
        self.path, self.received, self.ready, self.frames = path, received, ready, frames
        self.buffer, self.open = bytearray(), False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                        .encode())  # fmt: skip

    def data_received(self, data: bytes) -> None:
        now, buffer = time.time(), self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise ConnectionError(bytes(buffer[:200]))
            del buffer[: end + 4]
            self.open = True
            self.ready.set()
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                return
            opcode, payload = buffer[0] & 0x0F, bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:  # text (the servers send each message in one frame)
                self.frames[0] += 1
                if payload.startswith(SAVED):
                    record(payload, now, self.received)
            elif opcode == 0x9:  # ping: a pong, masked as a client's frames must be
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)


async def raw_subscriber(url: str, received: list, ready: asyncio.Event, frames: list[int]) -> None:
    address = urlsplit(url)
    transport, _ = await asyncio.get_running_loop().create_connection(
        lambda: Subscriber(f"{address.path}?{address.query}", received, ready, frames), address.hostname, address.port
    )
    try:
        await asyncio.Future()  # until cancelled
    finally:
        transport.close()


async def run(
    ports: list[int], pids: list[int], subscribers: int, turns: int, visible: int, client=raw_subscriber
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
        tasks.append(asyncio.create_task(client(url, inboxes[index], ready, frames)))
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
    parser.add_argument(
        "--layers",
        default="memory,redis,pubsub",
        help="which of: memory, redis (channels_redis's list-based layer), pubsub (the product's)",
    )
    parser.add_argument("--servers", default="uvicorn,daphne", help="which of: uvicorn, uvicorn-wsproto, daphne")
    parser.add_argument("--visible", default="all,10", help="subscribers showing the live reply, per run")
    parser.add_argument("--client", default="raw", choices=["raw", "websockets"], help="the subscribers' client")
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the bare Starlette reference")
    args = parser.parse_args()
    if args.floor and not floor_installed():
        print("the floor is skipped: pip install -r bench/requirements.txt to measure it")
        args.floor = False
    setup_django()
    upstream = start_upstream(5, 0.0, 18631)
    print(f"fan-out benchmark: {args.subscribers} subscribers ({args.client} client) on one chat, {args.turns} turns "
          f"({args.subscribers * args.turns * 2} message_saved expected)")  # fmt: skip
    try:
        layers = {
            "memory": ("in-memory layer, 1 process", {}, [18640]),
            "redis": (
                "Redis layer, 2 processes",
                {"REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "bench.settings_list_layer"},
                [18641, 18642],
            ),
            "pubsub": ("Redis pub/sub, 2 processes", {"REDIS_URL": REDIS_URL}, [18643, 18644]),
        }
        runs = []
        for shown in args.visible.split(","):
            if args.floor:
                runs.append(("floor", "bare Starlette fan-out (the floor), 1 process", {}, [18650], shown))
            runs += [
                (kind, *layers[name], shown) for kind in args.servers.split(",") for name in args.layers.split(",")
            ]
        floors: dict[str, float] = {}
        for kind, label, env, ports, shown in runs:
            visible = args.subscribers if shown == "all" else int(shown)
            label = f"{kind}, {label}, {shown} shown" if kind != "floor" else f"{label}, {shown} shown"
            if kind == "floor":
                servers = [start_floor("bench.starlette_fanout:app", port) for port in ports]
            else:
                servers = [start_server(kind, port, extra_env=env) for port in ports]
            try:
                pids = [server.pid for server in servers]
                client = raw_subscriber if args.client == "raw" else subscriber
                ratio, duplicates, latencies, (server_us, client_us) = asyncio.run(
                    run(ports, pids, args.subscribers, args.turns, visible, client)
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
            p99 = pct(latencies, 99)
            if kind == "floor":
                floors[shown] = p99
            against = f", {p99 / floors[shown]:.2f}× the floor's p99" if kind != "floor" and shown in floors else ""
            print(f"  {label:48} delivered/expected {ratio:.4f}  duplicates {duplicates}  "
                  f"latency p50 {pct(latencies, 50):6.1f} ms  p99 {p99:6.1f} ms{against}  "
                  f"(goal 1.0, p99 <= 100 ms); CPU per frame delivered: servers {server_us:.0f} µs, "
                  f"subscribers {client_us:.0f} µs")  # fmt: skip
    finally:
        upstream.terminate()


if __name__ == "__main__":
    main()
