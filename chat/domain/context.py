"""What a turn sends must fit the model's context: the system prompt, the history, the new message, the tools
and room for the answer.

Tokens are estimated without a tokenizer (there is none for most upstream models): one token per three
bytes of UTF-8, which is more than English takes (about four characters a token) and about what Chinese or
Japanese takes (a character, three bytes, a token or so), plus a few tokens per message for its framing. An
estimate that runs high only trims a little early.

History that does not fit is trimmed, oldest exchanges first (the system prompt and the new message are
always kept), and the reply records how many messages were left out. A new message that cannot fit on its
own is refused before it is saved (``MessageTooLong``).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from chat.exceptions import ChatError
from chat.models import ChatModel

BYTES_PER_TOKEN = 3
MESSAGE_OVERHEAD = 4  # tokens of framing per message (role markers, separators)


class MessageTooLong(ChatError, code="message_too_long", status=413):
    """The message is too long for this model."""


def estimate_tokens(value: Any) -> int:
    """An upper estimate of the tokens ``value`` (text, or anything JSON) takes."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return -(-len(text.encode()) // BYTES_PER_TOKEN)


def message_tokens(message: dict[str, Any]) -> int:
    calls = message.get("tool_calls")
    return MESSAGE_OVERHEAD + estimate_tokens(message.get("content") or "") + (estimate_tokens(calls) if calls else 0)


def window(chat_model: ChatModel) -> int:
    """The tokens the model takes at once, prompt and answer (its admin setting, or the default)."""
    if chat_model.context_window:
        return chat_model.context_window
    if chat_model.provider == ChatModel.Provider.LOCAL:
        return int(settings.LOCAL_LLM_CONTEXT)
    return int(settings.LLM_DEFAULT_CONTEXT)


def answer_room(chat_model: ChatModel) -> int:
    """Tokens kept free for the answer: the model's max_tokens, or a quarter of its window."""
    size = window(chat_model)
    return min(chat_model.max_tokens or size // 4, size // 2)


def prompt_budget(chat_model: ChatModel) -> int:
    return window(chat_model) - answer_room(chat_model)


def check_message(chat_model: ChatModel, content: str, system_prompt: str) -> None:
    """Refuse a message that cannot fit the model's context even with no history."""
    needed = message_tokens({"content": content})
    if system_prompt:
        needed += message_tokens({"content": system_prompt})
    budget = prompt_budget(chat_model)
    if needed > budget:
        characters = max(budget - (needed - estimate_tokens(content)), 0) * BYTES_PER_TOKEN
        raise MessageTooLong(
            f"This message is too long for {chat_model.name}: it can take about {characters:,} characters at "
            f"a time (this one has {len(content):,}). Shorten it, or send it in parts."
        )


def fit(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, chat_model: ChatModel) -> int:
    """Trim ``messages`` (system prompt, history, new message) in place to fit the model's context, oldest
    exchanges first; the number of messages left out. An exchange (a user message and what followed it, tool
    calls and results included) goes whole, so no tool result loses its call. The last exchange stays (the
    new message, or the question of a reply being continued)."""
    budget = prompt_budget(chat_model) - (estimate_tokens(tools) if tools else 0)
    start = 1 if messages and messages[0]["role"] == "system" else 0
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    last = users[-1] if users else len(messages) - 1
    total = sum(message_tokens(m) for m in messages)
    dropped = 0
    while total > budget and start < last:
        end = start + 1  # the oldest exchange: up to the next user message
        while end < last and messages[end]["role"] != "user":
            end += 1
        total -= sum(message_tokens(m) for m in messages[start:end])
        dropped += end - start
        del messages[start:end]
        last -= end - start
    return dropped
