from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat.domain.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to recognise the token by.")

    def handle(self, *args, username: str, name: str, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named '{username}'.") from None
        token, raw = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.prefix}… for {username}. Store it now; it cannot be shown again.")
        self.stdout.write(raw)
