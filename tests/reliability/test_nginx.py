"""The nginx snippet of docs/deployment.md passes SSE through unbuffered (and websockets), with Debian's nginx."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (Debian package nginx-light)"),
]

ROOT = Path(__file__).resolve().parents[2]


def readme_snippet() -> tuple[str, str]:
    """The map line and the location block, exactly as docs/deployment.md gives them."""
    readme = (ROOT / "docs" / "deployment.md").read_text()
    block = readme.split("```\nmap ", 1)[1].split("```", 1)[0]
    map_line, location = block.split("\n\n", 1)
    return "map " + map_line, location


@pytest.fixture
def nginx(daphne_server, tmp_path):
    map_line, location = readme_snippet()
    port = free_port()
    config = f"""
worker_processes 1;
error_log {tmp_path}/error.log;
pid {tmp_path}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    {map_line}
    upstream chat_servers {{ server 127.0.0.1:{daphne_server.port}; }}
    server {{
        listen 127.0.0.1:{port};
        {location}
    }}
}}
"""
    (tmp_path / "nginx.conf").write_text(config)
    proc = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"],
                            stderr=subprocess.PIPE)  # fmt: skip
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


def test_sse_passes_through_nginx_unbuffered(nginx, token, chat, llm):
    llm.script(tokens=[f"t{i} " for i in range(15)], delay=0.1)
    body = {"message": "hi", "chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id}
    arrivals = []
    started = time.monotonic()
    with httpx.stream("POST", f"http://{nginx}/api/chat?stream=true", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as response:  # fmt: skip
        for line in response.iter_lines():
            if line.startswith('data: {"type":"token"'):
                arrivals.append(time.monotonic() - started)
    spread = arrivals[-1] - arrivals[0]
    print(f"\nnginx: 15 tokens 100 ms apart arrived over {spread:.2f} s (buffered would be ~0 s)")
    assert len(arrivals) == 15 and spread > 1.0


async def test_websocket_passes_through_nginx(nginx, token, chat):
    import websockets

    async with websockets.connect(f"ws://{nginx}/ws/chats/{chat.public_id}/?token={token}") as socket:
        await socket.send("ping")
        assert await socket.recv() == "pong"
