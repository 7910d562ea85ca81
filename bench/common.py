"""Shared pieces of the benchmarks: a throwaway database, the test upstream, server processes, statistics."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-"))
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_SECRET_KEY": "bench-secret-key-" + "x" * 40,
    "APP_VAR_DIR": str(WORKDIR),
    "SQLITE_PATH": str(WORKDIR / "bench.sqlite3"),
    "LOG_LEVEL": "WARNING",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    # The benchmarks are one user sending many turns: limits too high to bite, but counted as in production.
    "RATE_LIMIT_TURNS_PER_MINUTE": "1000000",
    "RATE_LIMIT_CONCURRENT_STREAMS": "100000",
    # Prepared model weights are reused from the project's own cache.
    "LOCAL_LLM_CACHE_DIR": str(ROOT / "var" / "models"),
    "WHISPER_CACHE_DIR": str(ROOT / "var" / "models" / "whisper"),
}
os.environ.update({k: v for k, v in ENV.items() if k not in os.environ or k in ("APP_VAR_DIR", "SQLITE_PATH")})
ENV = {**os.environ, **ENV}


def setup_django() -> None:
    import django

    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env={**os.environ}, check=True)
    django.setup()


def start_upstream(tokens: int, delay: float, port: int, cpu: int | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.support.llm_server", "--port", str(port), "--tokens", str(tokens),
           "--delay", str(delay)]  # fmt: skip
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # "listening on ..."
    return proc


def start_server(kind: str, port: int, cpu: int | None = None, extra_env: dict | None = None) -> subprocess.Popen:
    """A server process on the production settings and the benchmark's database (the tests' launcher)."""
    from tests.support.server import ServerProcess

    server = ServerProcess(kind, extra_env, port, environment=dict(os.environ), cpu=cpu,
                           log_path=WORKDIR / f"{kind}-{port}.log")  # fmt: skip
    return server.start().proc


def floor_installed() -> bool:
    """Whether the floors' Starlette is installed (``pip install -r bench/requirements.txt``)."""
    import importlib.util

    return importlib.util.find_spec("starlette") is not None


def start_floor(app: str, port: int, cpu: int | None = None, env: dict | None = None) -> subprocess.Popen | None:
    """A bare Starlette app of ``bench/`` (a floor the product is compared with) under uvicorn, once it answers
    ``/healthz``; None when Starlette is not installed. Websocket frames uncompressed, as the product's
    production command has them."""
    if not floor_installed():
        return None
    import httpx

    cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-access-log", "--log-level", "warning",
           "--ws-per-message-deflate", "false"]  # fmt: skip
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 50):7.2f}  p99 {pct(values, 99):7.2f}  mean {statistics.fmean(values):7.2f}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
