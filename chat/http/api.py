"""The small amount of framework the JSON API needs: authentication, CSRF, input parsing, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from chat.domain.auth import token_user
from chat.exceptions import (
    BadRequest,
    ChatError,
    MethodNotAllowed,
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
)
from chat.http.ratelimit import acquire_stream, check_turn_rate, subjects
from chat.turns.shutdown import draining

logger = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def error_response(error: ChatError) -> JsonResponse:
    """A domain error as the product's JSON: ``{"error": {"code", "message"}}`` with its status. The
    server's own failures are logged with their detail, which the person is not shown."""
    if error.status >= 500 and error.detail:
        logger.warning("%s %s: %s", error.status, error.code, error.detail)
    return with_error_headers(JsonResponse({"error": error.as_dict()}, status=error.status), error)


def with_error_headers(response: HttpResponse, error: ChatError) -> HttpResponse:
    """The headers an error's status calls for, whatever shape its body has."""
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        response["Allow"] = ", ".join(error.allowed)
    return response


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _enforce_csrf(request: HttpRequest) -> None:
    """Session-authenticated writes need the CSRF token, exactly as Django's middleware would check it."""
    check = CsrfViewMiddleware(lambda _request: None)
    check.process_request(request)
    if check.process_view(request, None, (), {}) is not None:
        raise PermissionDenied("CSRF check failed. Reload the page and try again.", code="csrf_failed")


async def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The user behind a bearer token or a session. Raises ``NotAuthenticated``."""
    if (raw := bearer_token(request)) is not None:
        user = await token_user(raw)
        if user is None:
            raise NotAuthenticated("The API token is invalid or has been revoked.", code="invalid_token")
        return user
    user = await request.auser()
    if not user.is_authenticated:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS:
        _enforce_csrf(request)
    return user


Release = Callable[[], Awaitable[None]]
T = TypeVar("T")


async def admit(request: HttpRequest) -> Release:
    """Apply the turn limits (per minute, at once) to this caller; returns the release of its stream slot.

    Turns, transcriptions and speech all count here, so no door does costly work around the limits.
    """
    if draining():
        raise ChatError("The server is restarting. Try again in a moment.", code="shutting_down", status=503)
    keys = subjects(request.api_user, bearer_token(request))
    await check_turn_rate(keys)
    return await acquire_stream(keys)


async def admit_turn(request: HttpRequest, begin: Callable[[], Awaitable[T]]) -> tuple[T, Release]:
    """Apply the turn limits to this caller, then ``begin`` the turn holding a stream slot.

    Returns what ``begin`` returned and the slot's release (for when the turn ends); if ``begin`` fails,
    the slot is released here.
    """
    release = await admit(request)
    try:
        return await begin(), release
    except BaseException:
        await release()
        raise


View = Callable[..., Awaitable[HttpResponse]]


def endpoint(
    methods: list[str],
    *,
    authenticate: Callable[[HttpRequest], Awaitable[AbstractBaseUser]],
    render_error: Callable[[ChatError], HttpResponse],
) -> Callable[[View], View]:
    """An async JSON endpoint: checks the method and the caller (``request.api_user``), and renders domain
    errors with ``render_error`` (the product's shape here, OpenAI's under /v1)."""

    def decorator(view: View) -> View:
        @csrf_exempt  # Enforced in ``authenticate`` for sessions; bearer tokens need no CSRF.
        @wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(methods)
                request.api_user = await authenticate(request)
                return await view(request, *args, **kwargs)
            except ChatError as error:
                return render_error(error)

        return wrapper

    return decorator


def api_view(methods: list[str]) -> Callable[[View], View]:
    """The product's JSON API: a bearer token or the session (with CSRF on writes); its error shape."""
    return endpoint(methods, authenticate=authenticate, render_error=error_response)


def parse_json(request: HttpRequest) -> dict[str, Any]:
    content_type = request.content_type or "application/json"
    if content_type != "application/json":
        raise BadRequest("Send the request body as JSON (Content-Type: application/json).", code="unsupported_media")
    try:
        body = json.loads(request.body or b"{}")
    except RequestDataTooBig:
        raise body_too_large() from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.", code="invalid_json") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def body_too_large() -> ChatError:
    limit = settings.API_MAX_BODY_BYTES
    return ChatError(f"The request body is too large; the limit is {limit / 1e6:.0f} MB.", code="request_too_large",
                     status=413)  # fmt: skip


def refuse_nul(value: str, name: str, *, code: str = "invalid_field") -> str:
    """``value``, unless it holds a NUL: PostgreSQL text cannot, so it would fail in the database instead."""
    if "\x00" in value:
        raise BadRequest(f"'{name}' must not contain NUL characters.", code=code)
    return value


def require_str(data: dict[str, Any], name: str, *, max_length: int = 100) -> str:
    value = data.get(name)
    if value is None or value == "":
        raise BadRequest(f"'{name}' is required.", code="missing_field")
    if not isinstance(value, str) or len(value) > max_length:
        raise BadRequest(f"'{name}' must be a string of at most {max_length} characters.", code="invalid_field")
    return refuse_nul(value, name)


def optional_str(data: dict[str, Any], name: str, *, max_length: int = 100) -> str | None:
    if data.get(name) in (None, ""):
        return None
    return require_str(data, name, max_length=max_length)


def parse_bool(value: Any, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "false", "0", "no"}:
        return value.lower() in {"true", "1", "yes"}
    raise BadRequest(f"'{name}' must be true or false.", code="invalid_field")


def parse_message(value: Any) -> str:
    """The user's message: a non-empty string within ``CHAT_MAX_MESSAGE_CHARS``."""
    if value is None:
        raise BadRequest("'message' is required.", code="missing_field")
    if not isinstance(value, str):
        raise BadRequest("'message' must be a string.", code="invalid_field")
    if not value.strip():
        raise BadRequest("The message is empty.", code="empty_message")
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(value) > limit:
        raise BadRequest(
            f"The message is too long ({len(value):,} characters; the limit is {limit:,}).", code="message_too_long"
        )
    return refuse_nul(value, "message")


def parse_int(value: Any, name: str, *, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"'{name}' must be a whole number.", code="invalid_field") from None
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise BadRequest(f"'{name}' must be {bounds}.", code="invalid_field")
    return number


def parse_temperature(value: Any, name: str = "temperature") -> float | None:
    """A sampling temperature from 0 to 2, or None (the model's own)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise BadRequest(f"'{name}' must be a number from 0 to 2, or null.", code="invalid_field")
    return float(value)


def parse_text(data: dict[str, Any], name: str, *, max_length: int) -> str:
    """A free text field (a prompt, a name): a string within ``max_length`` characters, "" when absent."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise BadRequest(f"'{name}' must be a string of at most {max_length:,} characters.", code="invalid_field")
    return refuse_nul(value, name)
