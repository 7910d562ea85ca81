"""Logging helpers: secrets that can appear in a logged URL are blanked before any handler sees them."""

from __future__ import annotations

import logging
import re

# ``?token=`` (a websocket's API token) and ``?ticket=``-style secrets, wherever a URL is logged.
_SECRET_PARAM = re.compile(r"(?i)([?&](?:token|access_token|api_key|key)=)[^&\s\"']+")

# Servers that log request paths with their query strings (uvicorn logs every websocket's at INFO).
URL_LOGGERS = ("uvicorn.error", "uvicorn.access", "daphne", "daphne.server", "django.channels.server",
               "django.request", "django.server")  # fmt: skip


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Blanks secret query parameters in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_redaction() -> None:
    """Attach the filter to the loggers of the servers we run under (they configure their own handlers)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
