"""The OpenAI-compatible API under /v1: any OpenAI SDK pointed at this server works unchanged.

Beyond a bare LLM endpoint: with ``session_id`` (or ``chat_instance_id``) the turn is stored in a
conversation, shown in the UI and the admin, and pushed to open tabs; prior history comes from the
database. Without one, requests are stateless, as with OpenAI (unless OPENAI_API_LOG_CONVERSATIONS is on).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.domain.auth import token_user
from chat.domain.db import run_db
from chat.domain.selectors import chat_model_get, chat_model_list
from chat.domain.services import (
    TurnBegun,
    chat_for_session,
    chat_from_messages,
    turn_begin,
    turn_ephemeral,
)
from chat.exceptions import BadRequest, ChatError, NotAuthenticated
from chat.http.api import (
    View,
    admit_turn,
    bearer_token,
    endpoint,
    parse_json,
    refuse_nul,
    with_error_headers,
)
from chat.http.openai_format import ChunkRenderer, completion, error_body
from chat.http.responses import sse_response
from chat.models import ChatModel
from chat.turns.events import Error
from chat.turns.run import TurnOptions, start_turn
from chat.turns.upstream import error_status


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
    "functions": "The legacy 'functions' parameter is not supported; send 'tools' instead.",
    "function_call": "The legacy 'function_call' parameter is not supported; send 'tool_choice' instead.",
    "logprobs": "logprobs are not supported by this server.",
    "audio": "Audio output is not supported by this server.",
}


@dataclass
class CompletionRequest:
    model: str
    messages: list[dict[str, Any]]
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


MAX_TOOLS = 128  # OpenAI's limit on a request's tools; also the calls one assistant message may carry
MAX_LOGIT_BIAS = 300  # OpenAI's limit on logit_bias entries
MAX_TOKENS = 1_000_000
INT64 = (-(2**63), 2**63 - 1)


def _tool_calls(raw: Any, index: int) -> list[dict[str, Any]]:
    """An assistant message's ``tool_calls``, as a client sends them back with the results."""
    where = f"messages[{index}].tool_calls"
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_TOOLS:
        raise BadRequest(f"{where} must be a non-empty array of at most {MAX_TOOLS} calls.", code="invalid_value")
    calls = []
    for n, call in enumerate(raw):
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(call.get("id"), str)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments", ""), str)
        ):
            raise BadRequest(f"{where}[{n}] must have an 'id' and a 'function' with a 'name' and 'arguments' "
                             "(a JSON string).", code="invalid_value")  # fmt: skip
        calls.append({"id": call["id"], "type": "function",
                      "function": {"name": function["name"], "arguments": function.get("arguments", "")}})  # fmt: skip
    return calls


def _messages(raw: Any, *, tools: bool, used: int = 0) -> list[dict[str, Any]]:
    """The conversation a request brings, within the same limits as every other door: each message's
    length (CHAT_MAX_MESSAGE_CHARS, its tool calls' arguments included), their number and their total
    size (CHAT_MAX_REQUEST_CHARS, of which the request's tool definitions already ``used`` some). With
    ``tools``, assistant messages may carry ``tool_calls`` and the results come back as ``role: "tool"``
    messages."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty array.", code="invalid_value")
    if len(raw) > settings.CHAT_MAX_REQUEST_MESSAGES:
        raise BadRequest(f"Too many messages ({len(raw):,}; the limit is {settings.CHAT_MAX_REQUEST_MESSAGES:,}).",
                         code="invalid_value")  # fmt: skip
    roles = {"system", "developer", "user", "assistant"} | ({"tool"} if tools else set())
    messages: list[dict[str, Any]] = []
    total = used
    for index, item in enumerate(raw):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in roles:
            allowed = "system, user, assistant or tool" if tools else "system, user or assistant"
            raise BadRequest(f"messages[{index}].role must be {allowed}.", code="invalid_value")
        calls = item.get("tool_calls") if role == "assistant" and tools else None
        raw_content = item.get("content")
        content = "" if raw_content is None and calls else _text(raw_content, index)
        message: dict[str, Any] = {"role": "system" if role == "developer" else role, "content": content}
        size = len(content)
        if calls:
            message["tool_calls"] = _tool_calls(calls, index)
            size += sum(len(call["function"]["arguments"]) for call in message["tool_calls"])
        if size > settings.CHAT_MAX_MESSAGE_CHARS:
            raise BadRequest(f"messages[{index}] is too long ({size:,} characters with its tool calls; the limit "
                             f"is {settings.CHAT_MAX_MESSAGE_CHARS:,}).", code="invalid_value")  # fmt: skip
        total += size
        if total > settings.CHAT_MAX_REQUEST_CHARS:
            raise BadRequest(f"The messages are too long together (the limit is {settings.CHAT_MAX_REQUEST_CHARS:,} "
                             "characters, tools included).", code="invalid_value")  # fmt: skip
        if role == "tool":
            call_id = item.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise BadRequest(f"messages[{index}].tool_call_id is required.", code="invalid_value")
            message["tool_call_id"] = call_id
        messages.append(message)
    last = messages[-1]
    if last["role"] not in ("user", "tool"):
        raise BadRequest("The last message must be from the user" + (" or a tool." if tools else "."),
                         code="invalid_value")  # fmt: skip
    if last["role"] == "user" and not last["content"].strip():
        raise BadRequest("The last user message is empty.", code="invalid_value")
    return messages


_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _client_tools(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or not 0 < len(tools) <= MAX_TOOLS:
        raise BadRequest(f"'tools' must be a non-empty array of at most {MAX_TOOLS} tools.", code="invalid_value")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(function, dict)
            or tool.get("type") != "function"
            or not isinstance(function.get("name"), str)
            or not _FUNCTION_NAME.match(function["name"])
            or not isinstance(function.get("parameters", {}), dict)
        ):
            raise BadRequest(f"tools[{index}] must be {{\"type\": \"function\", \"function\": {{\"name\": ..., "
                             "\"parameters\": {...}}} with a name of letters, digits, _ or -.",
                             code="invalid_value")  # fmt: skip
    return tools


def _tool_choice(body: dict[str, Any]) -> str | dict[str, Any] | None:
    choice = body.get("tool_choice")
    if choice is None or choice in ("none", "auto", "required"):
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return {"type": "function", "function": {"name": function["name"]}}
    raise BadRequest("'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", "
                     "\"function\": {\"name\": ...}}.", code="invalid_value")  # fmt: skip


def _integer_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _logit_bias(bias: Any) -> dict[str, float]:
    """OpenAI's ``logit_bias``: at most 300 token ids, each with a bias from -100 to 100."""
    if (
        not isinstance(bias, dict)
        or len(bias) > MAX_LOGIT_BIAS
        or not all(isinstance(k, str) and k.isdigit() and len(k) <= 10 for k in bias)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and -100 <= v <= 100 for v in bias.values())
    ):
        raise BadRequest(f"'logit_bias' must map at most {MAX_LOGIT_BIAS} token ids to numbers from -100 to 100.",
                         code="invalid_value")  # fmt: skip
    return bias


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
    if max_tokens is not None and not _integer_in(max_tokens, 1, MAX_TOKENS):
        raise BadRequest(f"'max_tokens' must be an integer from 1 to {MAX_TOKENS:,}.", code="invalid_value")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
        raise BadRequest("'stop' must be a string or a list of up to 4 strings.", code="invalid_value")
    extra = {}
    for name, (low, high) in {"top_p": (0, 1), "presence_penalty": (-2, 2), "frequency_penalty": (-2, 2)}.items():
        if (value := _number(body, name, low, high)) is not None:
            extra[name] = value
    if (seed := body.get("seed")) is not None:
        if not _integer_in(seed, *INT64):
            raise BadRequest("'seed' must be a 64-bit integer.", code="invalid_value")
        extra["seed"] = seed
    if (bias := body.get("logit_bias")) is not None:
        extra["logit_bias"] = _logit_bias(bias)
    session_id = body.get("chat_instance_id") or body.get("session_id")
    if session_id is not None and (not isinstance(session_id, str) or not 0 < len(session_id) <= 200):
        raise BadRequest("'session_id' must be a string of at most 200 characters.", code="invalid_value")
    if session_id is not None:
        _no_nul(session_id, "session_id")
    stream_options = body.get("stream_options") or {}
    tools = _client_tools(body)
    tools_size = len(json.dumps(tools, ensure_ascii=False)) if tools is not None else 0
    if tools is not None and session_id is not None:
        raise BadRequest("A request with its own 'tools' is stateless: send the whole conversation in 'messages' "
                         "and leave out 'session_id'.", code="invalid_value")  # fmt: skip
    if tools is None and (body.get("tool_choice") is not None or body.get("parallel_tool_calls") is not None):
        raise BadRequest("'tool_choice' and 'parallel_tool_calls' need 'tools'.", code="invalid_value")
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise BadRequest("'parallel_tool_calls' must be true or false.", code="invalid_value")
    return CompletionRequest(
        model=model,
        messages=_messages(body.get("messages"), tools=tools is not None, used=tools_size),
        stream=body.get("stream") is True,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        session_id=session_id,
        options=TurnOptions(
            temperature=_number(body, "temperature", 0, 2),
            max_tokens=max_tokens,
            stop=stop,
            extra=extra,
            client_tools=tools,
            tool_choice=_tool_choice(body) if tools is not None else None,
            parallel_tool_calls=parallel,
            # The chat model's own tools run only in a stored conversation (session_id).
            server_tools=session_id is not None,
        ),
    )


def _begin(user, parsed: CompletionRequest) -> tuple[TurnBegun, dict[str, Any]]:
    """The turn to run: in a conversation, stateless, or stateless but logged, as configured."""
    chat_model = chat_model_get(model_id=parsed.model)
    content = next((m["content"] for m in reversed(parsed.messages) if m["role"] == "user"), "")
    if parsed.options.client_tools is not None:
        # A client running its own tools sends the whole conversation each time: nothing is stored.
        parsed.options.messages = parsed.messages
        return turn_ephemeral(chat_model=chat_model, content=content), {}
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
        status = error_status(failure.code)
        return JsonResponse(error_body(failure.message, failure.code, status), status=status)
    return JsonResponse(completion(events, completion_id, parsed.model, extra))
