"""Websocket routes and the middleware stack in front of them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.urls import re_path
from django.utils.http import is_same_domain

from chat.domain import extensions
from chat.domain.auth import token_user
from chat.ws.consumers import ChatConsumer


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
        user = await token_user(token)
        scope = {**scope, "user": user or AnonymousUser(), "auth_method": "token"}
        return await self.app(scope, receive, send)


def origin_allowed(origin: str, host: str, secure: bool) -> bool:
    """Django's CSRF origin rule for a websocket: the Origin must be this site (same scheme, host and port as
    the request, on a host in ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS (``https://*.example.com`` too)."""
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    if origin == f"{'https' if secure else 'http'}://{host}" or origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        trusted.startswith(f"{parsed.scheme}://*") and is_same_domain(parsed.netloc, trusted.split("://*", 1)[1])
        for trusted in settings.CSRF_TRUSTED_ORIGINS
    )


class SameOriginValidator:
    """Refuses a websocket whose ``Origin`` is not this site, before anything reads the session cookie.

    Browsers always send ``Origin``. Programs (which authenticate with a token and cannot be tricked into a
    cross-site request) often send none, so a missing one is allowed; the consumer still requires a user.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(
            origin.decode("latin-1"), headers.get(b"host", b"").decode("latin-1"), _secure(scope, headers)
        ):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)


def _secure(scope, headers: dict[bytes, bytes]) -> bool:
    """Whether the browser reached us over TLS: ``wss``, or a trusted proxy's header says so (DJANGO_HTTPS)."""
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, value = proxy_header
    header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
    return headers.get(header, b"").split(b",")[0].strip().decode("latin-1") == value


websocket_urlpatterns = [
    re_path(r"^ws/chats/(?P<chat_id>ci_[A-Za-z0-9]+)/$", ChatConsumer.as_asgi()),
    *extensions.websocket_routes(),  # conversation mode, from the voice app
    re_path(r"", WebsocketDenier.as_asgi()),  # any other path: refused (403), not a routing error (500)
]

websocket_application = SameOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
