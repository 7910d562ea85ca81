"""Debian's Chromium as the tests and the benchmarks launch it (through Playwright, no browser download)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# As root in a container, with the machine's closed network: no sandbox, no background connections.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def launch(playwright, *extra: str):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*FLAGS, *extra])


def launch_with_microphone(playwright, wav, *extra: str):
    """Chromium whose microphone plays ``wav`` (looped), with the permission prompt answered yes."""
    return launch(playwright, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={wav}", *extra)  # fmt: skip
