"""Domain errors. Each carries a stable code, a sentence a person understands, and an HTTP status."""

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


class LLMError(ChatError):
    """The model server failed. Raised by providers; the turn turns it into an ``error`` event."""

    code = "upstream_error"
    status = 502
    message = "The model server failed to answer."


class UpstreamUnavailable(LLMError):
    code = "upstream_unavailable"
    message = "Could not reach the model server. It may be down or the address may be wrong."


class UpstreamAuthError(LLMError):
    code = "upstream_auth"
    message = "The model server refused our credentials. Check the API key configured for this model."


class UpstreamModelNotFound(LLMError):
    code = "upstream_model_not_found"
    message = "The model server does not know this model. Check the model name configured for it."


class UpstreamRateLimited(LLMError):
    code = "upstream_rate_limited"
    status = 429
    message = "The model server is rate limiting us. Try again in a moment."


class UpstreamServerError(LLMError):
    code = "upstream_server_error"
    message = "The model server had an internal error."


class UpstreamTimeout(LLMError):
    code = "upstream_timeout"
    status = 504
    message = "The model server took too long to answer."


class UpstreamProtocolError(LLMError):
    code = "upstream_bad_response"
    message = "The model server sent a response we could not understand."


class UpstreamDisconnected(LLMError):
    code = "upstream_disconnected"
    message = "The model server closed the connection in the middle of the reply."


class ModelUnavailable(LLMError):
    """The model cannot run at all here (missing or corrupt weights, missing runtime)."""

    code = "model_unavailable"
    status = 503
    message = "This model is not available on the server."


def llm_error_status(code: str) -> int:
    """The HTTP status of a turn that failed with this error code, for the non-streaming forms."""
    pending, known = [LLMError], {}
    while pending:
        cls = pending.pop()
        known.setdefault(cls.code, cls.status)
        pending += cls.__subclasses__()
    return known.get(code, LLMError.status)
