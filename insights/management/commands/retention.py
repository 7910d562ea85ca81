"""Delete what the retention settings say has expired (run it from cron); --dry-run only counts."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from insights.retention import retention_apply, retention_plan


class Command(BaseCommand):
    help = ("Delete recordings older than RETENTION_RECORDINGS_DAYS and conversations untouched for "
            "RETENTION_CHATS_DAYS, except flagged, corrected or needing attention. --dry-run: count only.")  # fmt: skip

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dry_run: bool, **options):
        plan = retention_plan() if dry_run else retention_apply()
        verb = "Would delete" if dry_run else "Deleted"
        rec = (
            f"{plan.recordings} recordings older than {plan.recordings_days} days"
            if plan.recordings_days
            else "no recordings (RETENTION_RECORDINGS_DAYS is 0)"
        )
        chats = (
            f"{plan.chats} conversations untouched for {plan.chats_days} days"
            if plan.chats_days
            else "no conversations (RETENTION_CHATS_DAYS is 0)"
        )
        self.stdout.write(f"{verb} {rec} and {chats}.")
