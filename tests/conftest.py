from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from chat.domain.services import api_token_create
from chat.models import ChatInstance, ChatModel
from tests.support.llm_server import LLMServer


@pytest.fixture(scope="session")
def llm_server() -> LLMServer:
    server = LLMServer().start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def llm(llm_server: LLMServer) -> LLMServer:
    """The test upstream, with a fresh script and request log for this test."""
    llm_server.reset()
    return llm_server


@pytest.fixture
def user(transactional_db):
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def other_user(transactional_db):
    return get_user_model().objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def chat_model(transactional_db, llm: LLMServer) -> ChatModel:
    return ChatModel.objects.create(
        name="test-model", provider="openai", base_url=llm.base_url, upstream_model="test-upstream",
        system_prompt="You are a test assistant.", temperature=0.3, max_tokens=256,
    )  # fmt: skip


@pytest.fixture
def chat(user, chat_model) -> ChatInstance:
    return ChatInstance.objects.create(owner=user, chat_model=chat_model)


@pytest.fixture
def token(user) -> str:
    return api_token_create(user=user, name="tests")[1]


class HeaderClient(AsyncClient):
    """An AsyncClient that sends the same headers on every request.

    Django 5.2.19's AsyncClient turns client-level ``headers=`` into WSGI-style names, which ASGI requests
    then drop, so they are added to each request here instead.
    """

    def __init__(self, headers: dict[str, str], **kwargs: Any):
        super().__init__(**kwargs)
        self.fixed_headers = headers

    def generic(self, method, path, *args, headers=None, **kwargs):
        return super().generic(method, path, *args, headers={**self.fixed_headers, **(headers or {})}, **kwargs)


def api_client(token: str) -> AsyncClient:
    """A client with this API token: Django's AsyncClient, or with ``TEST_API_CLIENT=asgi`` one that goes
    through the project's real ASGI application (``tests/support/asgi_client.py``)."""
    headers = {"Authorization": f"Bearer {token}"}
    if os.environ.get("TEST_API_CLIENT") == "asgi":
        from tests.support.asgi_client import ASGIClient

        return ASGIClient(headers)
    return HeaderClient(headers)


@pytest.fixture
def api(token) -> AsyncClient:
    """An async client authenticated with an API token, as a program would be."""
    return api_client(token)


@pytest.fixture
def other_api(other_user) -> AsyncClient:
    return api_client(api_token_create(user=other_user)[1])


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    """Parse an SSE body the way the seed's simple reader does: split on blank lines, parse ``data: ``."""
    events = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            events.append(json.loads(block[6:]))
        else:
            assert block == "" or block.startswith(":"), f"unexpected SSE block {block!r}"
    return events


async def read_stream(response) -> tuple[list[dict[str, Any]], list[bytes]]:
    """All events of a streamed response, and the raw pieces as written."""
    pieces = [piece async for piece in response.streaming_content]
    return parse_sse(b"".join(pieces)), pieces


async def post_turn(client: AsyncClient, chat: ChatInstance, message: str = "Hi there", **extra: Any):
    body = {"message": message, "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id, **extra}
    return await client.post("/api/chat?stream=true", body, content_type="application/json")


def _server_process(kind: str, django_db_blocker):
    from tests.support.server import ServerProcess

    with django_db_blocker.unblock():
        server = ServerProcess(kind).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker):
    """A real daphne process serving the project on the test database (use with transactional tests)."""
    yield from _server_process("daphne", django_db_blocker)


@pytest.fixture(scope="session")
def uvicorn_server(django_db_setup, django_db_blocker):
    """A real uvicorn process serving the project on the test database."""
    yield from _server_process("uvicorn", django_db_blocker)


@pytest.fixture(scope="session", autouse=True)
def _close_thread_connections(django_db_setup):
    """Async tests run ORM calls on asgiref's worker thread and on the database threads
    (``chat.domain.db``): hand their connections back, and close PostgreSQL's pool, before the test database
    is dropped (else: "database is being accessed by other users")."""
    yield
    import asyncio
    import threading
    from concurrent.futures import wait

    from asgiref.sync import sync_to_async
    from django.db import connections

    from chat.domain import db as database_threads

    asyncio.run(sync_to_async(connections.close_all)())
    executor = database_threads._executor
    if executor is not None:  # one call on each of its threads: they all wait until every thread has one
        count = executor._max_workers
        barrier = threading.Barrier(count)

        def close() -> None:
            try:
                barrier.wait(5)
            except threading.BrokenBarrierError:
                pass
            connections.close_all()

        wait([executor.submit(close) for _ in range(count)])
    for connection in connections.all():
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test runs on an event loop of its own, and a channel layer keeps state bound to the loop that used
    it (channels_redis's receive lock and buffers): every test gets a new layer instance."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def fresh_counters(monkeypatch):
    """Rate-limit counters start at zero: in Redis (the cache's database) on the suite's second pass, in this
    process's memory otherwise. The limits count in one-minute windows: their clock is held in the middle of
    one, so that a test's requests never straddle two windows."""
    import types

    from django.core.cache import cache

    from chat.http import ratelimit
    from chat.realtime.counters import LocalCounters, get_counters

    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: 1_800_000_030.0))

    def clear() -> None:
        cache.clear()
        if isinstance(counters := get_counters(), LocalCounters):
            counters.clear()

    clear()
    yield
    clear()
