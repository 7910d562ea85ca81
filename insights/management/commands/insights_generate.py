"""Generate a realistic history for the dashboard (a benchmark's database, never a real one)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from insights.generate import history_generate
from insights.services import rollup_refresh


class Command(BaseCommand):
    help = "Write a generated history of MESSAGES messages over DAYS days, then rebuild the insights rollups."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, messages: int, days: int, seed: int, **options):
        started = time.monotonic()
        shown = [0]

        def progress(written: int) -> None:
            if written - shown[0] >= messages // 10 or written >= messages:
                shown[0] = written
                self.stderr.write(f"{written:,} messages, {time.monotonic() - started:.0f} s")

        written = history_generate(messages=messages, days=days, seed=seed, progress=progress)
        generated = time.monotonic()
        rollup_refresh()
        self.stdout.write(f"{written:,} messages in {generated - started:.1f} s; rollups rebuilt in "
                          f"{time.monotonic() - generated:.1f} s")  # fmt: skip
