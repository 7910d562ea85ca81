"""Errors of the LLM providers. Each has a stable code, a sentence a person understands, and a detail for logs.

Nothing here knows about HTTP: the turn layer (``chat.turns.upstream``) decides which status a failed turn
answers with.
"""

from __future__ import annotations


class LLMError(Exception):
    """The model failed to answer. The turn turns it into an ``error`` event and saves the reply as ``error``."""

    code = "upstream_error"
    message = "The model server failed to answer."

    def __init__(self, message: str | None = None, *, code: str | None = None, detail: str = ""):
        self.message = message or self.message
        self.code = code or self.code
        # For logs and the admin, never shown to the person chatting.
        self.detail = detail
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


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
    message = "The model server is rate limiting us. Try again in a moment."


class UpstreamServerError(LLMError):
    code = "upstream_server_error"
    message = "The model server had an internal error."


class UpstreamTimeout(LLMError):
    code = "upstream_timeout"
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
    message = "This model is not available on the server."
