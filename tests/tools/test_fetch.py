"""fetch_url refuses the server's own network: private, loopback, link-local and metadata addresses, checked
after DNS resolution and after every redirect, unless the host is allowlisted."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chat.tools.base import ToolError
from chat.tools.fetch import FetchLimits, fetch_text
from tests.tools.conftest import call, turn_events


class Pages(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
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

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def limits(*allowed: str) -> FetchLimits:
    return FetchLimits(allowed_hosts=frozenset(allowed), max_bytes=100_000, timeout=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://localhost/",
        "http://[::1]/", "http://0.0.0.0/", "http://192.168.1.1/", "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/",
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
