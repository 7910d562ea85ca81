"""Debian's Chromium as the tests and the benchmarks launch it (through Playwright, no browser download)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# As root in a container, with the machine's closed network: no sandbox, no background connections.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def launch(playwright, *extra: str):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*FLAGS, *extra])
