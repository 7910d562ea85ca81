"""Tool calls written as text, the way Qwen2.5, Hermes and many other chat templates ask a model to write them:

    <tool_call>
    {"name": "calculator", "arguments": {"expression": "2 + 2"}}
    </tool_call>

``ToolTextParser`` splits a streamed reply into its text (streamed on at once, except a tail that could be
the start of a tag) and its calls (whole, once their closing tag or the end of the reply arrives), so a local
model's calls reach the turn in the same structure as an OpenAI-compatible server's ``tool_calls``.

Small models often leave the tags out and answer with the bare JSON object, or the object in a ```json fence
(Qwen2.5-Coder-0.5B does). A reply that starts that way is held back until it ends: if it is exactly a call
of an offered tool, it is that call; otherwise it is text after all.
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


BARE_LIMIT = 8000  # characters of a reply held back as a possible bare call


class ToolTextParser:
    def __init__(self, names: set[str] | None = None) -> None:
        self._names = names or set()  # the offered tools: a bare JSON reply is a call only of one of these
        self._pending = ""  # text not yet sent on
        self._call: list[str] | None = None  # the body of the call being read
        self._opening: str | None = ""  # the reply's start while it may be a bare call; None once decided
        self.calls: list[ToolCallDelta] = []

    def feed(self, text: str) -> str:
        """The part of the reply's text that is certainly not a tool call."""
        if self._opening is not None:
            self._opening += text
            decided = self._decide()
            if decided is None:
                return ""
            self._opening, text = None, decided
        return self._feed(text)

    def _decide(self) -> str | None:
        """None while the reply's start may still be a bare call; else the text to read on."""
        opening = self._opening or ""
        start = opening.lstrip()
        if not start or len(opening) > BARE_LIMIT:
            return None if len(opening) <= BARE_LIMIT else opening
        if start[0] == "{":
            return None
        if start.startswith("```"):
            if "\n" not in start:
                return None if "```json".startswith(start[:7]) or start[3:].strip() == "" else opening
            header, _, rest = start.partition("\n")
            if header.strip() in ("```", "```json") and (not rest.strip() or rest.lstrip()[0] == "{"):
                return None
        if "```".startswith(start):
            return None
        return opening

    def _bare(self, text: str) -> tuple[list[ToolCallDelta], str] | None:
        """A reply made only of JSON objects (one, a list, or one per line): its calls of offered tools, and
        the text of any "answer" object small models write to reply in the same format. None: it is text."""
        body = text.strip()
        if body.startswith("```"):
            body = body.partition("\n")[2].rstrip()
            if not body.endswith("```"):
                return None
            body = body[:-3].strip()
        try:
            parsed: Any = json.loads(body)
            items = parsed if isinstance(parsed, list) else [parsed]
        except ValueError:
            try:
                items = [json.loads(line) for line in body.splitlines() if line.strip()]
            except ValueError:
                return None
        calls: list[ToolCallDelta] = []
        answers: list[str] = []
        for item in items:
            if not isinstance(item, dict):
                return None
            if item.get("name") in self._names:
                arguments = item.get("arguments", item.get("parameters", {}))
                if not isinstance(arguments, dict | str):
                    return None
                text_arguments = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
                calls.append(ToolCallDelta(len(calls), _call_id(), item["name"], text_arguments))
            elif (answer := _answer(item)) is not None:
                answers.append(answer)
            else:
                return None
        return (calls, "\n".join(answers)) if calls or answers else None

    def _feed(self, text: str) -> str:
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
        if self._opening is not None:
            opening, self._opening = self._opening, None
            if (bare := self._bare(opening)) is not None:
                self.calls += bare[0]
                return bare[1]
            text = self._feed(opening)
            return text + self.close()
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


ANSWER_KEYS = ("response", "answer", "text", "content", "final_answer", "result")


def _answer(item: dict[str, Any]) -> str | None:
    """The text of ``{"response": "…"}`` or ``{"name": "response", "arguments": {"text": "…"}}``."""
    if item.get("name") in ANSWER_KEYS and isinstance(item.get("arguments"), dict):
        item = item["arguments"]
    for key in ANSWER_KEYS:
        if isinstance(item.get(key), str | int | float) and not isinstance(item.get(key), bool):
            return str(item[key])
    return None


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
