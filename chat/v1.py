"""The OpenAI-compatible API under /v1: any OpenAI SDK pointed at this server works unchanged.

Beyond a bare LLM endpoint: with ``session_id`` (or ``chat_instance_id``) the turn is stored in a
conversation, shown in the UI and the admin, and pushed to open tabs; prior history comes from the
database. Without one, requests are stateless, as with OpenAI (unless OPENAI_API_LOG_CONVERSATIONS is on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.api import View, admit_turn, bearer_token, endpoint, parse_json, refuse_nul, token_user, with_error_headers
from chat.db import run_db
from chat.events import Error
from chat.exceptions import BadRequest, ChatError, NotAuthenticated, llm_error_status
from chat.models import ChatModel
from chat.openai_format import ChunkRenderer, completion, error_body
from chat.selectors import chat_model_get, chat_model_list
from chat.services import (
    TurnBegun,
    chat_for_session,
    chat_from_messages,
    turn_begin,
    turn_ephemeral,
)
from chat.turn import TurnOptions, start_turn
from chat.views import sse_response


def openai_error_response(error: ChatError) -> JsonResponse:
    """A domain error in OpenAI's shape. OpenAI answers every bad request, whatever is wrong with it, with
    400; the code says what."""
    status = 400 if error.status in {413, 415, 422} else error.status
    return with_error_headers(JsonResponse(error_body(error.message, error.code, status), status=status), error)


async def bearer_user(request: HttpRequest):
    """The user of the request's API token; /v1 takes nothing else."""
    raw = bearer_token(request)
    if raw is None:
        raise NotAuthenticated(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <token>'.", code="invalid_api_key"
        )
    user = await token_user(raw)
    if user is None:
        raise NotAuthenticated("Incorrect API key provided.", code="invalid_api_key")
    return user


def openai_view(methods: list[str]) -> Callable[[View], View]:
    """The OpenAI-compatible API: bearer tokens only (no cookie to forge, so no CSRF), OpenAI's error shape."""
    return endpoint(methods, authenticate=bearer_user, render_error=openai_error_response)


def _model_dict(chat_model: ChatModel) -> dict[str, Any]:
    return {
        "id": chat_model.public_id,
        "object": "model",
        "created": int(chat_model.created_at.timestamp()),
        "owned_by": chat_model.provider,
        "name": chat_model.name,
    }


@openai_view(["GET"])
async def models_view(request: HttpRequest) -> JsonResponse:
    models = await run_db(lambda: [_model_dict(m) for m in chat_model_list()])
    return JsonResponse({"object": "list", "data": models})


@openai_view(["GET"])
async def model_detail_view(request: HttpRequest, model_id: str) -> JsonResponse:
    return JsonResponse(_model_dict(await run_db(chat_model_get, model_id=model_id)))


UNSUPPORTED = {
    "tools": "Tool calls are not supported by this server.",
    "functions": "Function calls are not supported by this server.",
    "logprobs": "logprobs are not supported by this server.",
    "audio": "Audio output is not supported by this server.",
}


@dataclass
class CompletionRequest:
    model: str
    messages: list[dict[str, str]]
    stream: bool = False
    include_usage: bool = False
    session_id: str | None = None
    options: TurnOptions = field(default_factory=TurnOptions)


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be a number between {low:g} and {high:g}.", code="invalid_value")
    return value


def _no_nul(value: str, name: str) -> str:
    return refuse_nul(value, name, code="invalid_value")  # OpenAI's code for any bad value


def _text(content: Any, index: int) -> str:
    if isinstance(content, str):
        return _no_nul(content, f"messages[{index}].content")
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return _no_nul("".join(str(p.get("text", "")) for p in content), f"messages[{index}].content")
    raise BadRequest(f"messages[{index}].content must be text; images and files are not supported.",
                     code="invalid_value")  # fmt: skip


def _messages(raw: Any) -> list[dict[str, str]]:
    """The conversation a request brings, within the same limits as every other door: each message's
    length (CHAT_MAX_MESSAGE_CHARS), their number and their total size."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty array.", code="invalid_value")
    if len(raw) > settings.CHAT_MAX_REQUEST_MESSAGES:
        raise BadRequest(f"Too many messages ({len(raw):,}; the limit is {settings.CHAT_MAX_REQUEST_MESSAGES:,}).",
                         code="invalid_value")  # fmt: skip
    messages, total = [], 0
    for index, item in enumerate(raw):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in {"system", "developer", "user", "assistant"}:
            raise BadRequest(f"messages[{index}].role must be system, user or assistant.", code="invalid_value")
        content = _text(item.get("content"), index)
        if len(content) > settings.CHAT_MAX_MESSAGE_CHARS:
            raise BadRequest(f"messages[{index}].content is too long ({len(content):,} characters; the limit is "
                             f"{settings.CHAT_MAX_MESSAGE_CHARS:,}).", code="invalid_value")  # fmt: skip
        total += len(content)
        if total > settings.CHAT_MAX_REQUEST_CHARS:
            raise BadRequest(f"The messages are too long together (the limit is {settings.CHAT_MAX_REQUEST_CHARS:,} "
                             "characters).", code="invalid_value")  # fmt: skip
        messages.append({"role": "system" if role == "developer" else role, "content": content})
    if messages[-1]["role"] != "user":
        raise BadRequest("The last message must be from the user.", code="invalid_value")
    if not messages[-1]["content"].strip():
        raise BadRequest("The last user message is empty.", code="invalid_value")
    return messages


def parse_completion_request(body: dict[str, Any]) -> CompletionRequest:
    """Validate a chat completion request: every usual field is honoured or refused with a reason."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required.", code="missing_required_parameter")
    _no_nul(model, "model")
    for name, reason in UNSUPPORTED.items():
        if body.get(name):
            raise BadRequest(reason, code="unsupported_parameter")
    if body.get("n", 1) != 1:
        raise BadRequest("Only n=1 is supported.", code="unsupported_value")
    response_format = body.get("response_format") or {"type": "text"}
    if not isinstance(response_format, dict) or response_format.get("type") != "text":
        raise BadRequest("Only the text response_format is supported.", code="unsupported_value")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest("'max_tokens' must be a positive integer.", code="invalid_value")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
        raise BadRequest("'stop' must be a string or a list of up to 4 strings.", code="invalid_value")
    extra = {}
    for name, (low, high) in {"top_p": (0, 1), "presence_penalty": (-2, 2), "frequency_penalty": (-2, 2)}.items():
        if (value := _number(body, name, low, high)) is not None:
            extra[name] = value
    if isinstance(body.get("seed"), int):
        extra["seed"] = body["seed"]
    session_id = body.get("chat_instance_id") or body.get("session_id")
    if session_id is not None and (not isinstance(session_id, str) or not 0 < len(session_id) <= 200):
        raise BadRequest("'session_id' must be a string of at most 200 characters.", code="invalid_value")
    if session_id is not None:
        _no_nul(session_id, "session_id")
    stream_options = body.get("stream_options") or {}
    return CompletionRequest(
        model=model,
        messages=_messages(body.get("messages")),
        stream=body.get("stream") is True,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        session_id=session_id,
        options=TurnOptions(
            temperature=_number(body, "temperature", 0, 2), max_tokens=max_tokens, stop=stop, extra=extra
        ),
    )


def _begin(user, parsed: CompletionRequest) -> tuple[TurnBegun, dict[str, Any]]:
    """The turn to run: in a conversation, stateless, or stateless but logged, as configured."""
    chat_model = chat_model_get(model_id=parsed.model)
    content = parsed.messages[-1]["content"]
    if parsed.session_id:
        chat = chat_for_session(user=user, session_id=parsed.session_id, chat_model=chat_model)
        begun = turn_begin(user=user, chat_id=chat.public_id, model_id=chat_model.public_id, content=content)
        return begun, {"chat_instance_id": chat.public_id}
    parsed.options.messages = parsed.messages
    if settings.OPENAI_API_LOG_CONVERSATIONS:
        chat = chat_from_messages(user=user, chat_model=chat_model, messages=parsed.messages[:-1])
        begun = turn_begin(user=user, chat_id=chat.public_id, model_id=chat_model.public_id, content=content)
        return begun, {"chat_instance_id": chat.public_id}
    return turn_ephemeral(chat_model=chat_model, content=content), {}


@openai_view(["POST"])
async def chat_completions_view(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    parsed = parse_completion_request(parse_json(request))
    (begun, extra), release = await admit_turn(request, lambda: run_db(_begin, request.api_user, parsed))
    turn = start_turn(begun, parsed.options, started=started, on_finish=release)
    completion_id = "chatcmpl-" + begun.assistant_message.public_id.removeprefix("msg_")
    if parsed.stream:
        render = ChunkRenderer(completion_id, parsed.model, include_usage=parsed.include_usage, extra=extra)
        response = sse_response(turn, render)
        if "chat_instance_id" in extra:
            response["X-Chat-Instance-Id"] = extra["chat_instance_id"]
        return response
    events = await turn.collect()
    failure = next((e for e in events if isinstance(e, Error)), None)
    if failure is not None:
        status = llm_error_status(failure.code)
        return JsonResponse(error_body(failure.message, failure.code, status), status=status)
    return JsonResponse(completion(events, completion_id, parsed.model, extra))
