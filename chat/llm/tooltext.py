"""Tool calls written as text, the way Qwen2.5, Hermes and many other chat templates ask a model to write them:

    <tool_call>
    {"name": "calculator", "arguments": {"expression": "2 + 2"}}
    </tool_call>

``ToolTextParser`` splits a streamed reply into its text and its calls, so a local model's calls reach the turn
in the same structure as an OpenAI-compatible server's ``tool_calls``. Small models often leave the tags out
(Qwen2.5-Coder-0.5B does) and write the bare JSON object, a list of them, one per line, or the object in a
```json fence; sometimes with a stray ``>`` or ``</tool_call>`` around it, sometimes broken or cut off.

Text goes on at once, except what may still be a call: from a line that begins with ``{``, ``[``, ``>`` or a
fence, from ``{"`` in a line, and from ``<tool_call>``, until it is known (prose is not held at all; such a
line for a token, a JSON object in an answer until it closes). A JSON object shaped like a call (a name and
arguments) is a call, whatever its name: an unknown tool gets a failed result that says so, and broken JSON
becomes a call of what it names, so the model hears what was wrong. Call text is never shown as the answer.

The calls of a reply end it: text written after them, before their results, is dropped and the model is
stopped (``stopped``), as it is at a call it already wrote in this reply, after ``MAX_CALLS`` calls, and, when
no tools are offered any more (``offered=False``), at its first call: nothing that follows can be shown, so
the reply ends there instead of running on to its token limit.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from chat.llm.base import ToolCallDelta

OPEN, CLOSE, FENCE = "<tool_call>", "</tool_call>", "```"
BLOCK_LIMIT = 8000  # characters held back as a possible call before they are read as text (or a broken call)
MAX_CALLS = 8  # calls in one reply: a model that goes on is looping
ANSWER_KEYS = ("response", "answer", "text", "content", "final_answer", "result")
_FENCE_INFO = ("", "json", "tool_call", "tool_code")
_SEPARATORS = frozenset(" \t\r\n,[]>")  # around and between the objects of a block of calls
_LINE_OPENERS = frozenset("{[>`")
_SPECIAL = re.compile(r"[\n<{]")
_JSON_SPECIAL = re.compile(r'[\\"{}\[\]]')
_CALL_START = re.compile(r"""\{\s*["']?(?:name|function|tool_calls|arguments|parameters)["']?\s*:""")
_NAME = re.compile(r"""["']name["']\s*:\s*["']([\w.:-]{1,64})["']""")
_ARGUMENTS = re.compile(r"""["'](?:arguments|parameters)["']\s*:\s*""")

_TEXT, _BLOCK, _TAG = "text", "block", "tag"
Found = tuple[str, str]  # a call's name and its arguments as JSON text


def _call_id() -> str:
    return f"call_{secrets.token_hex(8)}"


@dataclass(slots=True)
class _Scan:
    """Finds where a JSON object ends, a piece at a time."""

    depth: int = 0
    string: bool = False
    escape: bool = False

    def end(self, text: str, start: int) -> int:
        """The index just after the object read so far and from ``start`` on, or -1 if it goes on."""
        skip = start
        if self.escape:  # a backslash ended the last piece: this piece's first character is escaped
            if start >= len(text):
                return -1
            self.escape, skip = False, start + 1
        for match in _JSON_SPECIAL.finditer(text, skip):
            at, char = match.start(), match.group()
            if at < skip:
                continue
            if self.string:
                if char == "\\":
                    if at + 1 >= len(text):
                        self.escape = True
                        return -1
                    skip = at + 2
                elif char == '"':
                    self.string = False
            elif char == '"':
                self.string = True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
                if self.depth == 0:
                    return match.end()
        return -1


class ToolTextParser:
    """One reply's text in, its text (``feed``, ``close``) and its calls (``calls``) out."""

    def __init__(self, names: set[str] | None = None, *, offered: bool = True) -> None:
        self.offered = offered  # calls are run; else they are dropped and the reply ends at the first one
        self.calls: list[ToolCallDelta] = []
        self.stopped = False  # the reply is over: what the model writes from now on is dropped
        self._names = names or set()  # the tools offered, or called earlier in the conversation
        self._mode = _TEXT
        self._pending = ""  # text not decided yet
        self._line_start = True  # whether ``_pending`` begins a line
        self._pos = 0  # how far a block has been read
        self._object: _Scan | None = None  # the object a block is in
        self._object_start = 0
        self._answers: list[str] = []  # ``{"response": …}`` objects of the block
        self._seen: set[Found] = set()
        self._begun = False  # whether anything but blank space has come

    def feed(self, text: str) -> str:
        """The part of the reply's text that is certainly not a call."""
        if self.stopped:
            return ""
        self._pending += text
        return self._run(final=False)

    def close(self) -> str:
        """The end of the reply: what was held back is read as it stands."""
        return self._run(final=True)

    def _run(self, *, final: bool) -> str:
        out = []
        more = True
        while more:
            handler = {_TEXT: self._text, _BLOCK: self._block, _TAG: self._tag}[self._mode]
            text, more = handler(final)
            out.append(text)
        return "".join(out)

    # --- text: sent on, except what may begin a call -----------------------------------------------------

    def _text(self, final: bool) -> tuple[str, bool]:
        text, at, line = self._pending, 0, self._line_start
        while True:
            if line:
                # Blank lines before a reply's first words are held too: they go with a call if one comes.
                first = _skip(text, at, " \t" if self._begun else " \t\r\n")
                if first == len(text) and not final:
                    return self._hold(at), False
                if first < len(text) and text[first] in _LINE_OPENERS:
                    return self._enter_block(at), True
                line = False
            match = _SPECIAL.search(text, at)
            if match is None:
                break
            found = match.start()
            if text[found] == "\n":
                at, line = found + 1, True
            elif text[found] == "<":
                if text.startswith(OPEN, found):
                    self._pending, self._mode = text[found + len(OPEN) :], _TAG
                    return text[:found], True
                if not final and OPEN.startswith(text[found:]):
                    return self._hold(found), False
                at = found + 1
            else:  # "{": a call's object begins with '{"'
                after = _skip(text, found + 1, " \t\r\n")
                if after == len(text) and not final:
                    return self._hold(found), False
                if after < len(text) and text[after] == '"':
                    return self._enter_block(found), True
                at = found + 1
        self._pending = ""
        if text:
            self._line_start, self._begun = text.endswith("\n"), self._begun or bool(text.strip())
        return text, False

    def _hold(self, at: int) -> str:
        text = self._pending
        self._line_start = text[at - 1] == "\n" if at else self._line_start
        self._pending, self._begun = text[at:], self._begun or bool(text[:at].strip())
        return text[:at]

    def _enter_block(self, at: int) -> str:
        text = self._pending
        self._pending, self._mode, self._pos, self._object, self._begun = text[at:], _BLOCK, 0, None, True
        return text[:at]

    # --- a block: JSON objects, and what small models write around them ---------------------------------

    def _block(self, final: bool) -> tuple[str, bool]:
        text = self._pending
        while self._pos < len(text):
            if self._object is not None:
                end = self._object.end(text, self._pos)
                if end < 0:
                    self._pos = len(text)
                    break
                self._pos, body, self._object = end, text[self._object_start : end], None
                if self._read(body) is None and not self.calls:  # JSON, but no call: text after all
                    return self._release(end), True
                if self.stopped:
                    self._pending = text[:end]
                    return self._end_block(end)
                continue
            char = text[self._pos]
            if char in _SEPARATORS:
                self._pos += 1
            elif char == "{":
                self._object, self._object_start = _Scan(), self._pos
            elif text.startswith(FENCE, self._pos):
                newline = text.find("\n", self._pos)
                info = text[self._pos + len(FENCE) : newline if newline >= 0 else len(text)].strip().lower()
                if newline < 0 and not final and any(known.startswith(info) for known in _FENCE_INFO):
                    break
                if info not in _FENCE_INFO:
                    return self._end_block(self._pos)
                self._pos = newline + 1 if newline >= 0 else len(text)
            elif text.startswith(CLOSE, self._pos):
                self._pos += len(CLOSE)
            elif text.startswith(OPEN, self._pos) and (self.calls or self._answers):
                self._pending, self._mode = text[self._pos + len(OPEN) :], _TAG
                return "", True
            elif not final and any(tag.startswith(text[self._pos :]) for tag in (OPEN, CLOSE, FENCE)):
                break
            else:
                return self._end_block(self._pos)
        if final:
            if self._object is not None and self._truncated(text[self._object_start :]) is None:
                return self._release(len(text)), True
            return self._end_block(len(text))
        if len(text) > BLOCK_LIMIT:
            if self.calls or self._object is not None and self._truncated(text[self._object_start :]) is not None:
                self.stopped = True
                return self._end_block(len(text))
            return self._release(len(text)), True
        return "", False

    def _release(self, at: int) -> str:
        """The block up to ``at`` is text as it stands."""
        text = self._pending
        self._pending, self._mode, self._line_start, self._answers = text[at:], _TEXT, False, []
        return text[:at]

    def _end_block(self, at: int) -> tuple[str, bool]:
        answers, self._answers = "\n".join(self._answers), []
        if self.calls:
            # The calls end the reply: what follows was written before their results came.
            self.stopped = True
            self._pending, self._mode = "", _TEXT
            return ("" if self.offered else answers), False
        if not answers:
            return self._release(at), True
        rest = self._pending[at:]
        self._pending, self._mode, self._line_start = rest, _TEXT, False
        return answers + ("\n" if rest.strip() else ""), True

    # --- <tool_call>…</tool_call> -------------------------------------------------------------------------

    def _tag(self, final: bool) -> tuple[str, bool]:
        text = self._pending
        close = text.find(CLOSE)
        if close < 0 and not final and len(text) <= BLOCK_LIMIT:
            return "", False
        body, rest = (text, "") if close < 0 else (text[:close], text[close + len(CLOSE) :])
        before = len(self.calls) + len(self._answers)
        scan, at = _Scan(), body.find("{")
        while at >= 0 and not self.stopped:
            end = scan.end(body, at)
            if end < 0:
                self._truncated(body[at:])
                break
            self._read(body[at:end])
            scan, at = _Scan(), body.find("{", end)
        if len(self.calls) + len(self._answers) == before and not self.stopped:
            # Not a call that can be read, yet written as one: a call still, so the model hears what is wrong.
            self._add(self._broken(body))
        self._pending, self._mode, self._pos, self._object = ("" if self.stopped else rest), _BLOCK, 0, None
        return "", True

    # --- what an object is --------------------------------------------------------------------------------

    def _read(self, body: str) -> str | None:
        """Take in an object: a call (its calls added) or an answer (kept); None if it is neither."""
        value = _loads(body)
        if isinstance(value, dict):
            if (answer := _answer(value, self._names)) is not None:
                self._answers.append(answer)
                return "answer"
            if (calls := self._as_calls(value)) is not None:
                self._add(calls)
                return "call"
        elif value is None and _CALL_START.match(body):
            self._add(self._broken(body))
            return "call"
        return None

    def _truncated(self, body: str) -> str | None:
        """An object cut off by the end of the reply: a call if it looks like one and is the first."""
        if self.calls:
            return "call"  # the cut-off tail of a run of calls: the whole ones stand
        compact = re.sub(r"\s", "", body)
        if not (_CALL_START.match(body) or len(compact) >= 3 and '{"name"'.startswith(compact)):
            return None
        self._add(self._broken(body))
        return "call"

    def _as_calls(self, item: dict[str, Any]) -> list[Found] | None:
        if isinstance(item.get("tool_calls"), list):
            found = [self._as_calls(call) if isinstance(call, dict) else None for call in item["tool_calls"]]
            return [call for calls in found if calls for call in calls] if found and all(found) else None
        if isinstance(item.get("function"), dict):
            item = item["function"]
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            return None
        if "arguments" in item or "parameters" in item:
            arguments = item.get("arguments", item.get("parameters"))
        elif name in self._names and len(item) == 1:
            arguments = {}
        else:
            return None
        if arguments is None:
            arguments = {}
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        return [(name, text)]

    def _broken(self, body: str) -> list[Found]:
        """A call whose JSON is broken: its name if it can be read, and the arguments as written."""
        if isinstance(value := _closed(body), dict) and (calls := self._as_calls(value)):
            return calls
        name = match.group(1) if (match := _NAME.search(body)) else ""
        arguments = body[match.end() :].strip() if (match := _ARGUMENTS.search(body)) else body.strip()
        return [(name, arguments)]

    def _add(self, calls: list[Found]) -> None:
        for name, arguments in calls:
            key = (name, arguments.strip())
            if key in self._seen:  # the same call again in one reply: the model is looping
                self.stopped = True
                return
            self._seen.add(key)
            self.calls.append(ToolCallDelta(len(self.calls), _call_id(), name, arguments))
            if not self.offered or len(self.calls) >= MAX_CALLS:
                self.stopped = True
                return


def _skip(text: str, at: int, chars: str) -> int:
    while at < len(text) and text[at] in chars:
        at += 1
    return at


def _loads(body: str) -> Any:
    """JSON, or the Python literal small models write instead (single quotes, True); None if neither."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _closed(body: str) -> Any:
    """An object cut off just before its last brace (its arguments whole), closed; else None. Arguments cut
    off are never completed: a call on half an expression would give a wrong answer with confidence."""
    scan = _Scan()
    if scan.end(body, 0) >= 0 or scan.depth != 1 or scan.string:
        return None
    try:
        return json.loads(body.rstrip().rstrip(",") + "}")
    except ValueError:
        return None


def _answer(item: dict[str, Any], names: set[str]) -> str | None:
    """The text of ``{"response": "…"}`` or ``{"name": "response", "arguments": {"text": "…"}}``."""
    if item.get("name") in ANSWER_KEYS and item.get("name") not in names and isinstance(item.get("arguments"), dict):
        item = item["arguments"]
        keys: tuple[str, ...] = ANSWER_KEYS
    elif len(item) == 1:
        keys = ANSWER_KEYS
    else:
        return None
    for key in keys:
        value = item.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
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
