from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat.domain.importing import FORMATS, chats_import
from chat.exceptions import ChatError


class Command(BaseCommand):
    help = (
        "Import another chat service's export as a user's chats, with their branches: ChatGPT's "
        "conversations.json, or the zip of the whole export. All or nothing: a file with an invalid "
        "conversation imports none."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="conversations.json, or the export's .zip")
        parser.add_argument("--format", choices=FORMATS, default="chatgpt")
        parser.add_argument("--user", required=True, help="The username whose chats they become.")

    def handle(self, *args: Any, file: str, format: str, user: str, **options: Any) -> None:
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No such user: {user}")
        try:
            with open(file, "rb") as source:
                result = chats_import(user=owner, source=source, name=Path(file).name, format=format)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        except ChatError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Imported {len(result.chats)} chats ({result.messages} messages) for {user}")
        if result.skipped:
            self.stderr.write(f"Left out {result.skipped} entries with no message to import.")
