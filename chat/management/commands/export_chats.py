import json
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chat.domain.export import chats_to_json, chats_to_markdown, export_queryset
from chat.models import ChatInstance


def _day(value: str, end: bool) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


class Command(BaseCommand):
    help = "Export conversations as JSON (all fields, recordings as URLs) or Markdown, to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "md"], default="json")
        parser.add_argument("--user", action="append", default=[], help="Only this user's chats (repeatable).")
        parser.add_argument("--since", help="Started on or after this day (YYYY-MM-DD).")
        parser.add_argument("--until", help="Started on or before this day (YYYY-MM-DD).")
        parser.add_argument("--base-url", default="", help="Prefix for recording URLs, e.g. https://chat.example.com")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, format: str, user: list[str], since, until, base_url: str, output, **options):
        chats = ChatInstance.objects.all()
        if user:
            known = set(get_user_model().objects.filter(username__in=user).values_list("username", flat=True))
            if missing := set(user) - known:
                raise CommandError(f"No such user: {', '.join(sorted(missing))}")
            chats = chats.filter(owner__username__in=user)
        if since:
            chats = chats.filter(created_at__gte=_day(since, end=False))
        if until:
            chats = chats.filter(created_at__lte=_day(until, end=True))
        chats = export_queryset(chats)
        base_url = base_url.rstrip("/")
        if format == "json":
            text = json.dumps(chats_to_json(chats, base_url), ensure_ascii=False, indent=2)
        else:
            text = chats_to_markdown(chats, base_url)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            self.stderr.write(f"Wrote {len(chats)} conversation(s) to {output}.")
        else:
            self.stdout.write(text)
