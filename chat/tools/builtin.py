"""The built-in tools. An admin picks, per chat model, which of them it may call (``ChatModel.tools``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from chat.domain.db import run_db
from chat.domain.search import search_messages
from chat.tools.base import Tool, ToolContext, ToolError, object_schema
from chat.tools.calculator import CalculatorError, calculate, format_number
from chat.tools.fetch import FetchLimits, fetch_text

ASK_USER = "ask_user"


async def _calculator(arguments: dict[str, Any], context: ToolContext) -> str:
    try:
        return format_number(calculate(arguments["expression"]))
    except CalculatorError as error:
        raise ToolError(str(error)) from None


async def _current_time(arguments: dict[str, Any], context: ToolContext) -> str:
    name = arguments.get("timezone") or settings.TIME_ZONE
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"'{name}' is not an IANA time zone; use a name such as 'Europe/Paris' or 'UTC'.") from None
    now = datetime.now(zone)
    return f"{now:%A, %d %B %Y, %H:%M:%S} ({name}, UTC{now:%z}); ISO 8601: {now.isoformat(timespec='seconds')}"


async def _search_conversations(arguments: dict[str, Any], context: ToolContext) -> str:
    if context.user_id is None:
        raise ToolError("Search needs a signed-in user.")
    hits = await run_db(search_messages, user_id=context.user_id, query=arguments["query"], limit=8)
    if not hits:
        return "No messages match."
    return "\n".join(f"- [{hit.chat_title}, {hit.created_at:%Y-%m-%d}, {hit.role}] {hit.snippet}" for hit in hits)


async def _fetch_url(arguments: dict[str, Any], context: ToolContext) -> str:
    limits = FetchLimits(
        allowed_hosts=frozenset(host.lower() for host in settings.TOOLS_FETCH_ALLOWED_HOSTS),
        max_bytes=settings.TOOLS_FETCH_MAX_BYTES,
        timeout=settings.TOOLS_FETCH_TIMEOUT,
    )
    return await fetch_text(arguments["url"], limits)


async def _ask_user(arguments: dict[str, Any], context: ToolContext) -> str:
    # Never run: the turn ends with a ``clarification_needed`` event instead (``chat.turns.tooling``).
    return "The question was shown to the person; their answer is their next message."


BUILTIN: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        Tool(
            "calculator",
            "Exact arithmetic. Use it for any calculation instead of working it out yourself. Supports + - * / "
            "// %, powers (** or ^), parentheses, decimals and percentages (15% is 0.15).",
            object_schema({"expression": {"type": "string", "description": "the arithmetic to do"}}, ["expression"]),
            "Calculating…",
            _calculator,
        ),
        Tool(
            "current_time",
            "The current date and time, in an IANA time zone (default: the server's).",
            object_schema({"timezone": {"type": "string", "description": "e.g. Europe/Paris, UTC"}}, []),
            "Checking the time…",
            _current_time,
        ),
        Tool(
            "search_conversations",
            "Full-text search over the user's own earlier conversations. Returns matching messages with the "
            "conversation's title, the date and a snippet.",
            object_schema({"query": {"type": "string", "description": "words to look for"}}, ["query"]),
            "Searching your conversations…",
            _search_conversations,
        ),
        Tool(
            "fetch_url",
            "Fetch a public web page and return its text.",
            object_schema({"url": {"type": "string", "description": "an http:// or https:// URL"}}, ["url"]),
            "Reading the page…",
            _fetch_url,
        ),
        Tool(
            ASK_USER,
            "Ask the user a question when the request is ambiguous or misses something you need, optionally "
            "with a few answers to choose from. Ends your turn; their reply comes as the next message.",
            object_schema(
                {
                    "question": {"type": "string"},
                    "options": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
                },
                ["question"],
            ),
            "Asking you…",
            _ask_user,
        ),
    ]
}

# Checked for new chat models in the admin; fetch_url reaches the network and stays off until an admin turns
# it on. The bundled 0.5B model gets none by default: it calls tools where none is needed often enough to
# confuse a first conversation (bench/results/tools.txt).
DEFAULT_TOOLS = ["calculator", "current_time", "search_conversations", "ask_user"]
BUILTIN_CHOICES = [(name, name) for name in BUILTIN]
