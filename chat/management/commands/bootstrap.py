import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from chat.models import ChatModel
from chat.tools.builtin import DEFAULT_TOOLS

SYSTEM_PROMPT = "You are a helpful assistant. Answer clearly and concisely."


class Command(BaseCommand):
    help = "Create the default chat model and, on first run, an admin login (its password is printed once)."

    def handle(self, *args, **options):
        self._default_model()
        self._admin_login()

    def _default_model(self) -> None:
        if ChatModel.objects.exists():
            return
        ChatModel.objects.create(
            name="Qwen2.5 Coder 0.5B (local)",
            provider=ChatModel.Provider.LOCAL,
            upstream_model="qwen2.5-coder-0.5b-instruct-q4_k_m",
            system_prompt=SYSTEM_PROMPT,
            temperature=0.2,
            max_tokens=1024,
        )
        self.stdout.write("Created the default chat model: Qwen2.5 Coder 0.5B, running locally.")
        if settings.OPENAI_MODEL:
            ChatModel.objects.create(
                name=settings.OPENAI_MODEL,
                provider=ChatModel.Provider.OPENAI,
                base_url=settings.OPENAI_BASE_URL,
                upstream_model=settings.OPENAI_MODEL,
                api_key_env="OPENAI_API_KEY",
                system_prompt=SYSTEM_PROMPT,
                tools=DEFAULT_TOOLS,  # upstream models of some size use tools well
            )
            self.stdout.write(f"Created chat model '{settings.OPENAI_MODEL}' ({settings.OPENAI_BASE_URL}).")

    def _admin_login(self) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        address = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"  # as serve.sh binds
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Sign in at http://{address}/ as '{username}' with password: {password}\n"
                "  (shown only once; change it with: .venv/bin/python manage.py changepassword "
                f"{username})\n"
            )
        )
