"""Django's standard middleware, without thread hops on async requests.

Under ASGI, each ``MiddlewareMixin`` hook runs through ``sync_to_async``: two thread hops per middleware
per request, several milliseconds before a streamed reply can start. The hooks below do no I/O (headers,
cookies, lazy objects), so they run inline on the event loop. The two that can touch the database, the
session save and the message storage, still go to a thread, but only when they have something to write.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csrf, security

from config.headers import DEFAULT_CSP, PERMISSIONS_POLICY


class InlineHooks:
    """Run ``process_request``/``process_response`` directly in async mode (they must not do I/O)."""

    async def __acall__(self, request):
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = await self.aprocess_response(request, response)
        return response

    async def aprocess_response(self, request, response):
        return self.process_response(request, response)


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    """Django's security headers, plus a Permissions-Policy (the microphone for this site only, nothing else)
    and a Content-Security-Policy on HTML that sets none of its own (``config.headers``)."""

    def process_response(self, request, response):
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", DEFAULT_CSP)
        return super().process_response(request, response)


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """Sets the lazy ``request.user`` and ``request.auser``; nothing is read until a view asks."""


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    async def process_view(self, request, callback, callback_args, callback_kwargs):
        # Reads cookies, headers and (for forms) the already received body: no I/O.
        return super().process_view(request, callback, callback_args, callback_kwargs)


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    async def aprocess_response(self, request, response):
        session = request.session
        if session.modified or (settings.SESSION_SAVE_EVERY_REQUEST and session.accessed):
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    async def aprocess_response(self, request, response):
        storage = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response)(request, response)
        return response
