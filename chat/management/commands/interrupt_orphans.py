from django.core.management.base import BaseCommand

from chat.domain.services import messages_interrupt_orphans


class Command(BaseCommand):
    help = (
        "Mark replies left 'streaming' by a crashed or killed server as 'interrupted'. Run it when the server "
        "starts, before any process serves turns (scripts/serve.sh does)."
    )

    def handle(self, *args, **options):
        count = messages_interrupt_orphans()
        if count:
            self.stdout.write(f"Marked {count} unfinished repl{'y' if count == 1 else 'ies'} as interrupted.")
