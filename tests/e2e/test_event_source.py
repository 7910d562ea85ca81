"""Chromium's own EventSource on the GET event stream, with the connection cut mid-turn by a proxy."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import httpx
import pytest

from chat.domain.services import api_token_create
from chat.models import ChatInstance, ChatModel
from tests.e2e.conftest import sign_in
from tests.support.threaded import ThreadedServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class CuttingProxy(ThreadedServer):
    """A TCP proxy on 127.0.0.1 in front of the server, which can drop every open connection at once."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.requests: list[bytes] = []  # the first bytes of each connection (the request head)
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool) -> None:
            first = record
            try:
                while data := await source.read(65536):
                    if first:
                        self.requests.append(data)
                        first = False
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def cut(self) -> None:
        """Drop every connection open now, as a flaky network or a restarted proxy would."""

        def close_all() -> None:
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(close_all)


@pytest.fixture
def proxy(daphne_server):
    proxy = CuttingProxy(daphne_server.port).start_in_thread()
    yield proxy
    proxy.stop_thread()


def test_eventsource_resumes_after_a_cut_with_every_token_once(browser, daphne_server, proxy, person, llm):
    model = ChatModel.objects.create(name="EventSource model", base_url=llm.base_url, upstream_model="m")
    chat = ChatInstance.objects.create(owner=person, chat_model=model)
    token = api_token_create(user=person)[1]
    words = [f"w{i} " for i in range(60)]
    llm.script(tokens=words, delay=0.05)

    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, SimpleNamespace(url=f"http://127.0.0.1:{proxy.port}"))  # the page's origin is the proxy
    page.evaluate(
        """(chatId) => {
            window.got = [];
            window.opened = 0;
            const source = new EventSource(`/api/chats/${chatId}/events`);
            source.onopen = () => window.opened++;
            source.onmessage = (m) => window.got.push([m.lastEventId, JSON.parse(m.data)]);
            window.source = source;
        }""",
        chat.public_id,
    )
    page.wait_for_function("window.opened === 1")
    body = {"message": "count", "chatInstanceId": chat.public_id, "chatModelId": model.public_id, "stream": True}
    posting = threading.Thread(
        target=lambda: httpx.post(
            f"{daphne_server.url}/api/chat", json=body, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ).read(),  # fmt: skip
    )
    posting.start()
    page.wait_for_function("window.got.filter(([, e]) => e.type === 'token').length >= 8", timeout=15000)
    proxy.cut()  # mid-turn: the browser sees the connection drop and reconnects by itself
    page.wait_for_function("window.got.some(([, e]) => e.type === 'stream_end')", timeout=20000)
    posting.join(30)
    got = page.evaluate("window.got")
    opened = page.evaluate("window.opened")
    page.evaluate("window.source.close()")
    context.close()

    ids = [event["eventId"] for _, event in got]
    assert ids == list(range(1, len(ids) + 1))  # every event once, in order, across the cut
    assert [cursor for cursor, _ in got] == [f"2:{i}" for i in ids]
    assert "".join(e["content"] for _, e in got if e["type"] == "token") == "".join(words)
    assert opened >= 2
    resumed = [r for r in proxy.requests if b"GET /api/chats/" in r and b"last-event-id:" in r.lower()]
    assert resumed, "the browser reconnected without Last-Event-ID"
