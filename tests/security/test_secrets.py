"""Secrets stay with their owner: the secret key file is readable by its owner only (an older, wider file is
narrowed), and API tokens in websocket URLs are redacted from the server's log."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_secret_key_file_is_readable_by_its_owner_only(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    first = subprocess.run([ROOT / "scripts" / "secret_key.sh", key_file], capture_output=True, text=True, check=True)
    assert len(first.stdout.strip()) > 50 and key_file.stat().st_mode & 0o777 == 0o600
    key_file.chmod(0o644)  # made by an older version
    again = subprocess.run([ROOT / "scripts" / "secret_key.sh", key_file], capture_output=True, text=True, check=True)
    assert again.stdout == first.stdout and key_file.stat().st_mode & 0o777 == 0o600


def test_websocket_tokens_stay_out_of_the_server_log(uvicorn_server, chat, token):
    import asyncio

    import websockets

    async def connect() -> None:
        url = f"ws://127.0.0.1:{uvicorn_server.port}/ws/chats/{chat.public_id}/?token={token}"
        async with websockets.connect(url) as ws:
            await ws.send("ping")
            assert await ws.recv() == "pong"

    asyncio.run(connect())
    log = uvicorn_server.log_path.read_text()
    assert chat.public_id in log and "token=[redacted]" in log
    assert token not in log


def test_redaction_filter():
    from config.logs import redact

    assert redact('"WebSocket /ws/chats/ci_1/?after=3&token=tok_abc" [accepted]') == (
        '"WebSocket /ws/chats/ci_1/?after=3&token=[redacted]" [accepted]')  # fmt: skip
