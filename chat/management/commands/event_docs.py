"""Write the event table of docs/api.md from the events' schema (``chat.turns.schema``)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chat.turns import schema

BEGIN, END = "<!-- events:begin -->", "<!-- events:end -->"


def api_doc() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "api.md"


def with_table(text: str) -> str:
    """``text`` with the generated table between its markers."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise CommandError(f"docs/api.md needs one {BEGIN} and, after it, one {END}.")
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    note = "<!-- Written by `manage.py event_docs` from chat/turns/schema.py: edit the schema, not this table. -->"
    return f"{head}{BEGIN}\n{note}\n\n{schema.markdown()}{END}{tail}"


class Command(BaseCommand):
    help = "Write the event table of docs/api.md from chat/turns/schema.py (--check: fail if it differs)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 if the table is stale.")

    def handle(self, *args: Any, check: bool, **options: Any) -> None:
        path = api_doc()
        text = path.read_text()
        wanted = with_table(text)
        if wanted == text:
            self.stdout.write("docs/api.md: the event table is up to date.")
        elif check:
            raise CommandError("docs/api.md's event table differs from chat/turns/schema.py: run manage.py event_docs.")
        else:
            path.write_text(wanted)
            self.stdout.write("docs/api.md: event table written.")
