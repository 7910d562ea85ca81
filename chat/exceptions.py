"""Errors of the API. Each carries a stable code, a sentence a person understands, and an HTTP status.

The LLM providers and speech engines have their own errors, without statuses (``chat.llm.errors``,
``voice.transcription.errors``); the layers that call them map those to statuses.
"""

from __future__ import annotations


class ChatError(Exception):
    code = "chat_error"
    status = 400
    message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: str = "",
    ):
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        # For logs and the admin, never shown to the person chatting.
        self.detail = detail
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class BadRequest(ChatError):
    code = "bad_request"
    status = 400


class NotAuthenticated(ChatError):
    code = "not_authenticated"
    status = 401
    message = "Sign in, or send an API token as 'Authorization: Bearer <token>'."


class PermissionDenied(ChatError):
    code = "forbidden"
    status = 403
    message = "You are not allowed to do that."


class MethodNotAllowed(ChatError):
    code = "method_not_allowed"
    status = 405

    def __init__(self, allowed: list[str]):
        super().__init__(f"Use {' or '.join(allowed)} here.")
        self.allowed = allowed


class NotFound(ChatError):
    code = "not_found"
    status = 404
    message = "Not found."


class Busy(ChatError):
    code = "chat_busy"
    status = 409
    message = "This chat is still answering the previous message. Wait for it to finish, or stop it first."


class RateLimited(ChatError):
    code = "rate_limited"
    status = 429
    message = "Too many requests. Try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
