"""Tool calls written as text, the way Qwen2.5, Hermes and many other chat templates ask a model to write them:

    <tool_call>
    {"name": "calculator", "arguments": {"expression": "2 + 2"}}
    </tool_call>

``ToolTextParser`` splits a streamed reply into its text (streamed on at once, except a tail that could be
the start of a tag) and its calls (whole, once their closing tag or the end of the reply arrives), so a local
model's calls reach the turn in the same structure as an OpenAI-compatible server's ``tool_calls``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from chat.llm.base import ToolCallDelta

OPEN, CLOSE = "<tool_call>", "</tool_call>"


def _call_id() -> str:
    return f"call_{secrets.token_hex(8)}"


def _held_back(text: str) -> int:
    """How many trailing characters of ``text`` could begin ``<tool_call>``."""
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if OPEN.startswith(text[-size:]):
            return size
    return 0


class ToolTextParser:
    def __init__(self) -> None:
        self._pending = ""  # text not yet sent on
        self._call: list[str] | None = None  # the body of the call being read
        self.calls: list[ToolCallDelta] = []

    def feed(self, text: str) -> str:
        """The part of the reply's text that is certainly not a tool call."""
        out: list[str] = []
        self._pending += text
        while self._pending:
            if self._call is not None:
                end = self._pending.find(CLOSE)
                if end < 0:
                    keep = max(len(self._pending) - len(CLOSE) + 1, 0)
                    self._call.append(self._pending[:keep])
                    self._pending = self._pending[keep:]
                    break
                self._call.append(self._pending[:end])
                self._pending = self._pending[end + len(CLOSE) :]
                self._finish_call()
                continue
            start = self._pending.find(OPEN)
            if start < 0:
                hold = _held_back(self._pending)
                out.append(self._pending[: len(self._pending) - hold])
                self._pending = self._pending[len(self._pending) - hold :]
                break
            out.append(self._pending[:start])
            self._pending = self._pending[start + len(OPEN) :]
            self._call = []
        return "".join(out)

    def close(self) -> str:
        """The end of the reply: a call left open is read as it stands; a held-back tail is text after all."""
        if self._call is not None:
            self._call.append(self._pending)
            self._pending = ""
            self._finish_call()
        rest, self._pending = self._pending, ""
        return rest

    def _finish_call(self) -> None:
        body = "".join(self._call or []).strip()
        self._call = None
        index = len(self.calls)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("name"), str):
            arguments = parsed.get("arguments", parsed.get("parameters", {}))
            text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            self.calls.append(ToolCallDelta(index, _call_id(), parsed["name"], text))
        else:
            # Broken JSON still becomes a call, so the model is told what was wrong and can try again.
            self.calls.append(ToolCallDelta(index, _call_id(), "", body))


def messages_for_template(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-shaped messages as chat templates expect them: a tool call's arguments as an object (the
    templates serialise them themselves), not the JSON text OpenAI's shape carries."""
    out = []
    for message in messages:
        if message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = dict(call.get("function") or {})
                try:
                    function["arguments"] = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    pass
                calls.append({**call, "function": function})
            message = {**message, "tool_calls": calls, "content": message.get("content") or ""}
        out.append(message)
    return out
