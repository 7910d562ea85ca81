"""Errors of the API: ``config.errors.CodedError`` (a code, a sentence a person understands, a detail for logs)
with an HTTP status. A subclass names its code and status in the class statement; its docstring is its message.

The LLM providers and speech engines have their own errors, without statuses (``chat.llm.errors``,
``voice.transcription.errors``); the layers that call them map those to statuses.
"""

from __future__ import annotations

from typing import Any

from config.errors import CodedError


class ChatError(CodedError, code="chat_error"):
    """The request could not be completed."""

    status = 400

    def __init_subclass__(cls, status: int | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None,
                 detail: str = ""):  # fmt: skip
        super().__init__(message, code=code, detail=detail)
        self.status = status or self.status


class BadRequest(ChatError, code="bad_request", status=400):
    pass


class NotAuthenticated(ChatError, code="not_authenticated", status=401):
    """Sign in, or send an API token as 'Authorization: Bearer <token>'."""


class PermissionDenied(ChatError, code="forbidden", status=403):
    """You are not allowed to do that."""


class MethodNotAllowed(ChatError, code="method_not_allowed", status=405):
    def __init__(self, allowed: list[str]):
        super().__init__(f"Use {' or '.join(allowed)} here.")
        self.allowed = allowed


class NotFound(ChatError, code="not_found", status=404):
    """Not found."""


class Busy(ChatError, code="chat_busy", status=409):
    """This chat is still answering the previous message. Wait for it to finish, or stop it first."""


class RateLimited(ChatError, code="rate_limited", status=429):
    """Too many requests. Try again shortly."""

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
