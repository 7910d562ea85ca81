from django.core.management.base import BaseCommand, CommandError

from chat.llm.errors import ModelUnavailable
from chat.turns.upstream import local_model_path


class Command(BaseCommand):
    help = "Join and verify the default local model's weights (once), or check LOCAL_LLM_PATH."

    def handle(self, *args, **options):
        self.stdout.write("Checking the local model's weights (the first time joins and verifies ~490 MB)...")
        try:
            path = local_model_path()
        except ModelUnavailable as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Local model ready: {path}")
