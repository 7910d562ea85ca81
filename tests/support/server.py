"""A real server process (daphne or uvicorn) on the test database, for tests that need real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_env() -> dict[str, str]:
    """Point a child process at the database the tests are using right now."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(settings_dict["NAME"])}
    user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    return {"DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"}


class ServerProcess:
    """A server process. By default on the test settings and database (``extra_env`` adds to that);
    ``environment`` replaces that base (the benchmarks run the production settings), ``cpu`` pins it."""

    def __init__(
        self,
        server: str = "daphne",
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
        *,
        environment: dict[str, str] | None = None,
        cpu: int | None = None,
        log_path: Path | None = None,
    ):
        self.server, self.port = server, port or free_port()
        self.extra_env = extra_env or {}
        self.environment, self.cpu = environment, cpu
        self.proc: subprocess.Popen | None = None
        self.log_path = log_path or ROOT / "var" / "test" / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.server.startswith("uvicorn"):
            # As docs/deployment.md's production command: websocket frames uncompressed. uvicorn-wsproto: its wsproto
            # websocket implementation; uvicorn-deflate: uvicorn's default per-message deflate (for bench/fanout.py).
            command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(self.port),
                       "--host", "127.0.0.1", "--no-access-log", "--timeout-graceful-shutdown", "5"]  # fmt: skip
            if self.server != "uvicorn-deflate":
                command += ["--ws-per-message-deflate", "false"]
            if self.server == "uvicorn-wsproto":
                command += ["--ws", "wsproto"]
        else:
            command = [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "config.asgi:application",
            ]
        return command if self.cpu is None else ["taskset", "-c", str(self.cpu), *command]

    def start(self) -> ServerProcess:
        base = self.environment
        if base is None:
            base = {
                **os.environ,
                # The test settings (on this test database): same code, a fast password hasher, short timeouts.
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DJANGO_SECRET_KEY": "test-secret-key-for-server-processes-" + "x" * 20,
                "APP_VAR_DIR": str(ROOT / "var" / "test"),
                "LOG_LEVEL": "WARNING",
                **database_env(),
            }
        env = {**base, **self.extra_env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)
