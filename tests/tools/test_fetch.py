"""fetch_url refuses the server's own network: private, loopback, link-local and metadata addresses, checked
after DNS resolution and after every redirect, unless the host is allowlisted."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chat.tools import pagetext
from chat.tools.base import ToolError
from chat.tools.fetch import FetchLimits, fetch_text
from tests.tools.conftest import call, turn_events

BIG_PAGE = b"<html><head><title>Big</title></head><body>" + b"<p>a</p>" * 250_000 + b"</body></html>"


class Pages(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        if self.path == "/big":
            return self._send(BIG_PAGE, "text/html")
        if self.path == "/bad-charset":
            return self._send("Grüße".encode(), "text/plain; charset=doesnotexist")
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", "http://" + self.path[len("/to/") :])
            self.end_headers()
            return
        body = (
            b"<html><head><title>Hello page</title><script>var x=1;</script></head><body><p>Hi there</p></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def limits(*allowed: str, max_bytes: int = 100_000, timeout: float = 5) -> FetchLimits:
    return FetchLimits(allowed_hosts=frozenset(allowed), max_bytes=max_bytes, timeout=timeout)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://localhost/",
        "http://[::1]/", "http://0.0.0.0/", "http://192.168.1.1/", "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/",
        # IPv6 forms that carry an IPv4 address: 6to4 (2002::/16), Teredo (2001::/32), NAT64, IPv4-compatible.
        "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::1]/", "http://[2002:0808:0808::1]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::7f00:1]/", "http://[::a00:1]/",
    ],
)  # fmt: skip
async def test_private_and_metadata_addresses_are_refused(url):
    with pytest.raises(ToolError, match="private or local address"):
        await fetch_text(url, limits())


async def test_a_redirect_to_a_refused_address_is_refused(site):
    # localhost is allowed here (the test page lives there); where it redirects is checked again.
    for target in (f"127.0.0.1:{site}/", "169.254.169.254/", "10.0.0.1/"):
        with pytest.raises(ToolError, match="private or local address"):
            await fetch_text(f"http://localhost:{site}/to/{target}", limits("localhost"))


async def test_an_allowlisted_host_is_fetched_and_its_text_extracted(site):
    text = await fetch_text(f"http://localhost:{site}/", limits("localhost"))
    assert text == "Hello page\n\nHi there"


async def test_other_schemes_and_credentials_are_refused():
    for url in ("file:///etc/passwd", "ftp://example.com/", "http://user:pw@example.com/"):
        with pytest.raises(ToolError):
            await fetch_text(url, limits())


@pytest.mark.django_db(transaction=True)
async def test_fetch_url_is_off_unless_enabled_and_refuses_local_addresses(api, tool_chat, llm, settings):
    llm.script(tokens=[], tool_calls=[call("fetch_url", {"url": "http://169.254.169.254/"})])
    llm.script(tokens=["No."])
    events = await turn_events(api, tool_chat)
    assert "fetch_url" not in {t["function"]["name"] for t in llm.chat_requests[-2].body["tools"]}
    assert next(e for e in events if e["type"] == "tool_result")["ok"] is False  # not offered: unknown tool

    tool_chat.chat_model.tools = [*tool_chat.chat_model.tools, "fetch_url"]
    await tool_chat.chat_model.asave()
    llm.script(tokens=[], tool_calls=[call("fetch_url", {"url": "http://169.254.169.254/"})])
    llm.script(tokens=["Refused."])
    events = await turn_events(api, tool_chat)
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["ok"] is False and "private or local address" in result["content"]
    await asyncio.sleep(0)


async def test_a_huge_page_is_read_off_the_event_loop_and_its_memory_comes_back(api, site):
    """2 MB of 250,000 tags once held the server's event loop for 7 s (BeautifulSoup on the loop) and kept
    300 MB: /healthz answers at once while the page is read, and the server's memory does not grow."""
    rss_before = _rss_bytes()
    fetch = asyncio.create_task(fetch_text(f"http://localhost:{site}/big", limits("localhost", max_bytes=4_000_000)))
    latencies = []
    while not fetch.done():
        started = time.monotonic()
        assert (await api.get("/healthz")).status_code == 200
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.02)
    text = await fetch
    assert text.startswith("Big\n\na\na")
    assert text.count("a") < 21_000  # cut to the first 20,000 tags before parsing
    assert len(latencies) >= 3 and max(latencies) < 0.5, latencies
    assert _rss_bytes() - rss_before < 50_000_000


async def test_reading_a_page_has_the_fetchs_time_limit_and_the_parser_is_killed(site, monkeypatch):
    monkeypatch.setattr(pagetext, "MAX_ELEMENTS", 10_000_000)  # no cut: the parse takes seconds
    started = time.monotonic()
    with pytest.raises(ToolError, match="took longer than 1 seconds"):
        await fetch_text(f"http://localhost:{site}/big", limits("localhost", max_bytes=4_000_000, timeout=1))
    assert time.monotonic() - started < 3
    assert multiprocessing.active_children() == []  # the parser did not outlive the fetch


async def test_an_unknown_charset_is_read_as_utf8(site):
    assert await fetch_text(f"http://localhost:{site}/bad-charset", limits("localhost")) == "Grüße"


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
