"""The security headers every response carries, static files included.

Django's middleware sets them on what Django answers; static files (served by ``ASGIStaticFilesHandler``
when ``SERVE_STATIC`` is on) skip the middleware, so ``StaticHeaders`` adds them there. HTML that does not set
its own Content-Security-Policy (the admin, the password pages, error pages) gets ``DEFAULT_CSP``.
"""

from __future__ import annotations

from django.conf import settings

# The app's pages load only their own modules and styles: no inline script, nothing from elsewhere.
PAGE_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip

# Other HTML: the same, but the admin's templates set a few inline style attributes.
DEFAULT_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

PERMISSIONS_POLICY = "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"

STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class StaticHeaders:
    """Adds the security headers to static files' responses (those under ``STATIC_URL``)."""

    def __init__(self, app):
        self.app = app
        self.prefix = "/" + settings.STATIC_URL.lstrip("/")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in STATIC_HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
