"""The wire schema of a turn's events: for each event type, its fields, their JSON types and a line on each.

The events are the dataclasses of ``chat.turns.events``; this is what each one looks like once rendered
(``Event.to_dict``: camelCase names), whatever door carries it: the POST response's SSE blocks, the GET event
stream, websocket frames. In the manner of Zulip's ``zerver/lib/event_schema.py``: the tests hold every door
to it (``tests/api/test_event_schema.py``) and ``manage.py event_docs`` writes the event table of
``docs/api.md`` from it, so the documented table is never parsed back out of prose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

JsonType = Literal["string", "integer", "boolean", "object", "array", "any"]

_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


@dataclass(frozen=True, slots=True)
class Field:
    """One field on the wire: its name, JSON type and what it holds."""

    name: str
    type: JsonType
    doc: str
    nullable: bool = False
    optional: bool = False  # present on some events of this type only
    items: JsonType | None = None  # an array's elements
    fields: tuple[Field, ...] = ()  # an object's keys, when they are fixed

    def type_text(self) -> str:
        """The type as the docs write it: ``array of string``, ``object or null``…"""
        text = "any JSON" if self.type == "any" else self.type
        if self.items:
            text += f" of {self.items}"
        return text + (" or null" if self.nullable else "")

    def problems(self, value: Any, where: str) -> list[str]:
        """What is wrong with ``value`` as this field (empty: nothing)."""
        if value is None:
            return [] if self.nullable else [f"{where} is null"]
        if not _is(value, self.type):
            return [f"{where} is {type(value).__name__}, not {self.type_text()}"]
        if self.items and not all(_is(item, self.items) for item in value):
            return [f"{where} holds something other than {self.items}"]
        if self.fields:
            return check_fields(value, self.fields, where)
        return []


def _is(value: Any, json_type: JsonType) -> bool:
    if json_type == "any":
        return True
    if isinstance(value, bool) and json_type != "boolean":  # bool is an int to Python, not to JSON
        return False
    return isinstance(value, _PYTHON_TYPES[json_type])


def check_fields(payload: dict[str, Any], fields: tuple[Field, ...], where: str) -> list[str]:
    """Each field with its type, none missing (optional ones aside), none more."""
    declared = {field.name: field for field in fields}
    found = [f"{where}.{name} is not in the schema" for name in payload if name not in declared]
    for field in fields:
        if field.name in payload:
            found += field.problems(payload[field.name], f"{where}.{field.name}")
        elif not field.optional:
            found.append(f"{where}.{field.name} is missing")
    return found


@dataclass(frozen=True, slots=True)
class EventSchema:
    """An event type: when it is sent, and its own fields (the envelope's aside)."""

    type: str
    doc: str
    fields: tuple[Field, ...]


def _string(name: str, doc: str, **more: Any) -> Field:
    return Field(name, "string", doc, **more)


def _integer(name: str, doc: str, **more: Any) -> Field:
    return Field(name, "integer", doc, **more)


_MESSAGE_ID = _string("messageId", "The message it belongs to (`msg_…`).")
_TOOL_CALL_ID = _string("toolCallId", "The call's id, as the model gave it.")
_TOOL_NAME = _string("name", "The tool.")

EVENTS: dict[str, EventSchema] = {
    schema.type: schema
    for schema in (
        EventSchema("transcription", "Voice turns, first: what the recording said.", (
            _string("text", "The transcript."),
            _string("language", "The language spoken, as a code (`en`)."),
            _integer("durationMs", "Length of the recording."),
            _string("messageId", "The user's message, which holds the recording."),
        )),
        EventSchema("stream_start", "The turn began: the user's message and an empty reply are saved.", (
            _string("chatInstanceId", "The conversation (`ci_…`)."),
            Field("userMessage", "object", "The user's message.", fields=(
                _string("id", "Its id (`msg_…`)."),
                _integer("seq", "Its sequence number in the chat."),
            )),
            _string("assistantMessageId", "The reply being written."),
            _integer("assistantMessageSeq", "Its sequence number (the turn's, in the event log's cursors)."),
            _string("model", "The chat model (`cm_…`)."),
            Field("continues", "boolean", "The reply already has text (`continueMessageId`): its tokens extend it."),
        )),
        EventSchema("status", "A note for the person waiting for the first token.", (
            _string("message", "What to show: `thinking…`, `waiting for the model…`."),
            _string("state", "`thinking`; `queued` while the local model has no free slot; `reading` while it "
                    "reads a long prompt (the message says how far)."),
        )),
        EventSchema("thinking", "Reasoning, when the model streams it.", (
            _string("content", "The next piece of the reasoning."),
        )),
        EventSchema("token", "A piece of the reply (left out with `includeTokens=false`; their eventIds too).", (
            _string("content", "The next piece of the reply's text."),
        )),
        EventSchema("tool_start", "The server starts running a tool the model called.", (
            _TOOL_CALL_ID,
            _TOOL_NAME,
            Field("arguments", "any", "The parsed arguments, or the model's text when it is not JSON."),
            _string("label", "The line a person reads (`Calculating…`)."),
        )),
        EventSchema("tool_result", "A tool call finished (a failure too: the model reads it and goes on).", (
            _TOOL_CALL_ID,
            _TOOL_NAME,
            Field("ok", "boolean", "Whether the call succeeded."),
            _string("content", "The result or the error, cut to 2,000 characters for display."),
            _integer("durationMs", "How long the call took."),
        )),
        EventSchema("execution_progress", "The turn's tool calls done so far, when it runs more than one.", (
            _integer("completedSteps", "Calls finished so far in the turn."),
            _integer("totalSteps", "Calls the model has asked for so far in the turn."),
        )),
        EventSchema("clarification_needed", "The model asks the person (`ask_user`); the turn ends with it.", (
            _string("question", "The question."),
            Field("options", "array", "Answers to offer as buttons (may be empty).", items="string"),
        )),
        EventSchema("tool_call_delta", "A piece of a call for the client to run (`/v1` with `tools` only).", (
            _integer("index", "Which call of the response it belongs to."),
            _string("toolCallId", "The call's id, on its first piece.", nullable=True),
            _string("name", "The function, on its first piece.", nullable=True),
            _string("arguments", "The next piece of the call's JSON arguments."),
        )),
        EventSchema("speech", "A sentence of the reply, spoken (turns asked with `speak`).", (
            _MESSAGE_ID,
            _integer("index", "The sentence's place in the reply, from 0."),
            _string("text", "The sentence."),
            _string("mime", "The audio's type (`audio/ogg; codecs=opus`)."),
            _string("audio", "The audio, base64."),
        )),
        EventSchema("agent_response", "The whole reply, once the model is done.", (
            _MESSAGE_ID,
            _string("content", "The reply's text."),
        )),
        EventSchema("message_saved", "The reply is saved.", (
            Field("message", "object", "The saved reply, as `GET /api/chats/<ci>/messages` serializes it."),
        )),
        EventSchema("stream_end", "The turn is over: always the last event.", (
            _string("finishReason", "`stop`, `length` or `content_filter` (as the model said), `tool_calls`, "
                                    "`clarification`, `stopped`, `client_disconnected`, `error`, `server_restart`."),
            Field("usage", "object", "Tokens counted, when the model said.", nullable=True, fields=(
                _integer("promptTokens", "The prompt's tokens."),
                _integer("completionTokens", "The reply's tokens."),
                _integer("totalTokens", "Both."),
            )),
        )),
        EventSchema("error", "The turn failed; a `stream_end` follows.", (
            _string("code", "What failed, for programs (`upstream_timeout`, `context_length_exceeded`…)."),
            _string("message", "What failed, for a person."),
        )),
    )
}  # fmt: skip

TYPE = _string("type", "The event type.")
EVENT_ID = _integer("eventId", "The event's number in its turn: 1, 2, 3…")
FROM_EVENT_ID = _integer(
    "fromEventId", "The first eventId the frame covers (events a websocket leaves out fall in the next frame's range)."
)
# What each door wraps around an event's own fields: the POST response's SSE blocks; the GET event stream,
# whose event after `speech` events it left out (without ``?speech=1``) says so; websocket frames.
ENVELOPE = (TYPE, EVENT_ID)
EVENT_STREAM_ENVELOPE = (TYPE, EVENT_ID, replace(FROM_EVENT_ID, optional=True))
FRAME_ENVELOPE = (TYPE, EVENT_ID, FROM_EVENT_ID)


def problems(payload: dict[str, Any], envelope: tuple[Field, ...] = ENVELOPE) -> list[str]:
    """What is wrong with one event as a door sent it: an unknown type, fields missing or extra, wrong types."""
    schema = EVENTS.get(payload.get("type", ""))
    if schema is None:
        return [f"unknown event type {payload.get('type')!r}"]
    return check_fields(payload, envelope + schema.fields, schema.type)


def markdown() -> str:
    """The event table of ``docs/api.md``: the envelope's fields, then each event type with its own."""
    lines = ["| Event | Field | Type | What it holds |", "|---|---|---|---|", "| every event | | | |"]
    lines += _rows(ENVELOPE, prefix="")
    lines += ["| websocket frames | | | |", *_rows((FROM_EVENT_ID,), prefix="")]
    for schema in EVENTS.values():
        lines.append(f"| `{schema.type}` | | | {schema.doc} |")
        lines += _rows(schema.fields, prefix="")
    return "\n".join(lines) + "\n"


def _rows(fields: tuple[Field, ...], prefix: str) -> list[str]:
    rows: list[str] = []
    for field in fields:
        rows.append(f"| | `{prefix}{field.name}` | {field.type_text()} | {field.doc} |")
        rows += _rows(field.fields, prefix=f"{prefix}{field.name}.")
    return rows
