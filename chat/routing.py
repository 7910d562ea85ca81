"""Websocket routes and the middleware stack in front of them."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import re_path

from chat.api import token_user
from chat.consumers import ChatConsumer


class TokenAuthMiddleware:
    """Authenticates a websocket by API token (``?token=`` or ``Authorization: Bearer``) when one is given,
    and by the session cookie (Channels' ``AuthMiddlewareStack``) otherwise.

    A token that does not authenticate leaves the connection anonymous, and the consumer refuses it. A
    token connection skips the session stack: it would look up a session the program does not have, and
    wrap every frame sent to it.
    """

    def __init__(self, app):
        self.app = app
        self.session_app = AuthMiddlewareStack(app)

    async def __call__(self, scope, receive, send):
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].decode().strip()
        if not token:
            return await self.session_app(scope, receive, send)
        from django.contrib.auth.models import AnonymousUser

        user = await token_user(token)
        scope = {**scope, "user": user or AnonymousUser(), "auth_method": "token"}
        return await self.app(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Browsers always send ``Origin``; it must name one of ALLOWED_HOSTS.

    Programs (which authenticate with a token and cannot be tricked into a cross-site request) often
    send no Origin at all, so a missing one is allowed; the consumer still requires authentication.
    """

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def _allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS) or ["localhost", "127.0.0.1", "[::1]"]
    return ["*"] if "*" in hosts else hosts


websocket_urlpatterns = [re_path(r"^ws/chats/(?P<chat_id>ci_[A-Za-z0-9]+)/$", ChatConsumer.as_asgi())]

websocket_application = BrowserOriginValidator(
    TokenAuthMiddleware(URLRouter(websocket_urlpatterns)), _allowed_origins()
)
