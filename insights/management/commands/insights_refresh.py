"""Rebuild the dashboard's rollups (cron: after late changes, such as feedback on old replies)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from insights.services import rollup_refresh


class Command(BaseCommand):
    help = "Rebuild the insights rollups of the last DAYS days (all days with --all)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--all", action="store_true")

    def handle(self, *args, days: int, all: bool, **options):
        since = None if all else timezone.localdate() - timedelta(days=days)
        rollup_refresh(since=since)
        self.stdout.write(f"Rollups rebuilt from {since or 'the first day'}.")
