"""Errors of the LLM providers (``config.errors.CodedError``: a code, a sentence, a detail for logs).

Nothing here knows about HTTP: the turn layer (``chat.turns.upstream``) decides which status a failed turn
answers with. The turn turns any of these into an ``error`` event and saves the reply as ``error``.
"""

from __future__ import annotations

from config.errors import CodedError


class LLMError(CodedError, code="upstream_error"):
    """The model server failed to answer."""


class UpstreamUnavailable(LLMError, code="upstream_unavailable"):
    """Could not reach the model server. It may be down; try again in a moment."""

    advice = "Check that the model server runs and that the model's base URL in the admin is right."


class UpstreamAuthError(LLMError, code="upstream_auth"):
    """The model server refused this server's credentials."""

    advice = "Check the API key configured for this model (its key variable in the admin)."


class UpstreamModelNotFound(LLMError, code="upstream_model_not_found"):
    """The model server does not know this model."""

    advice = "Check the upstream model name configured for this model in the admin."


class UpstreamRateLimited(LLMError, code="upstream_rate_limited"):
    """The model server is rate limiting us. Try again in a moment."""


class UpstreamServerError(LLMError, code="upstream_server_error"):
    """The model server had an internal error."""


class UpstreamTimeout(LLMError, code="upstream_timeout"):
    """The model server took too long to answer."""


class UpstreamProtocolError(LLMError, code="upstream_bad_response"):
    """The model server sent a response we could not understand."""


class UpstreamDisconnected(LLMError, code="upstream_disconnected"):
    """The model server closed the connection in the middle of the reply."""


class ModelUnavailable(LLMError, code="model_unavailable"):
    """This model is not available on the server."""
