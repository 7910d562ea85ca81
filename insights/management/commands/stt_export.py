"""Export the labelled set (recordings with reviewers' corrected text) for fine-tuning or another tool."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from insights.stt import labelled_set_export


class Command(BaseCommand):
    help = "Write OUT/manifest.jsonl (audio, text, transcript, language, …) and OUT/audio/ with the recordings."

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path)
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args, out: Path, limit: int | None, **options):
        written = labelled_set_export(out=out, limit=limit)
        self.stdout.write(f"{written} recordings written to {out}.")
