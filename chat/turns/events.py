"""The typed events of one chat turn. Every output format (SSE, JSON, OpenAI chunks, websockets) renders these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(slots=True)
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(slots=True)
class Heartbeat(Event):
    """Nothing happened for a while; streams write a comment so proxies and clients keep the connection."""

    type: ClassVar[str] = "heartbeat"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}


HEARTBEAT = Heartbeat()


@dataclass(slots=True)
class Transcription(Event):
    type: ClassVar[str] = "transcription"
    text: str
    language: str
    duration_ms: int
    message_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "text": self.text,
            "language": self.language,
            "durationMs": self.duration_ms,
            "messageId": self.message_id,
        }


@dataclass(slots=True)
class StreamStart(Event):
    type: ClassVar[str] = "stream_start"
    chat_instance_id: str
    user_message_id: str
    user_message_seq: int
    assistant_message_id: str
    model: str
    assistant_message_seq: int = 0
    continues: bool = False  # the reply already has text, which its tokens extend

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "chatInstanceId": self.chat_instance_id,
            "userMessage": {"id": self.user_message_id, "seq": self.user_message_seq},
            "assistantMessageId": self.assistant_message_id,
            "assistantMessageSeq": self.assistant_message_seq,
            "model": self.model,
            "continues": self.continues,
        }


@dataclass(slots=True)
class Status(Event):
    type: ClassVar[str] = "status"
    message: str
    state: str = "thinking"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "state": self.state}


@dataclass(slots=True)
class Thinking(Event):
    type: ClassVar[str] = "thinking"
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "content": self.content}


@dataclass(slots=True)
class Token(Event):
    type: ClassVar[str] = "token"
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "content": self.content}


@dataclass(slots=True)
class ToolStart(Event):
    """The server begins running a tool the model called. ``label`` is the line a person reads."""

    type: ClassVar[str] = "tool_start"
    tool_call_id: str
    name: str
    arguments: Any  # the parsed arguments, or the model's text when it is not valid JSON
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "toolCallId": self.tool_call_id,
            "name": self.name,
            "arguments": self.arguments,
            "label": self.label,
        }


@dataclass(slots=True)
class ToolResult(Event):
    """A tool call finished. ``content`` is shortened for display; the model got the whole (capped) result."""

    type: ClassVar[str] = "tool_result"
    tool_call_id: str
    name: str
    ok: bool
    content: str
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "toolCallId": self.tool_call_id,
            "name": self.name,
            "ok": self.ok,
            "content": self.content,
            "durationMs": self.duration_ms,
        }


@dataclass(slots=True)
class ExecutionProgress(Event):
    """How many of the turn's tool calls are done, when it runs more than one."""

    type: ClassVar[str] = "execution_progress"
    completed_steps: int
    total_steps: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "completedSteps": self.completed_steps, "totalSteps": self.total_steps}


@dataclass(slots=True)
class ClarificationNeeded(Event):
    """The model asks the person a question (the ``ask_user`` tool); the turn ends with it."""

    type: ClassVar[str] = "clarification_needed"
    question: str
    options: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "question": self.question, "options": self.options}


@dataclass(slots=True)
class ToolCallDelta(Event):
    """A piece of a tool call for the client to run (``/v1`` requests that bring their own ``tools``)."""

    type: ClassVar[str] = "tool_call_delta"
    index: int
    tool_call_id: str | None
    name: str | None
    arguments: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "index": self.index,
            "toolCallId": self.tool_call_id,
            "name": self.name,
            "arguments": self.arguments,
        }


@dataclass(slots=True)
class Speech(Event):
    """A sentence of the reply, spoken (turns asked with ``speak``): base64 audio of type ``mime``, in order
    of ``index``."""

    type: ClassVar[str] = "speech"
    message_id: str
    index: int
    text: str
    mime: str
    audio: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "messageId": self.message_id,
            "index": self.index,
            "text": self.text,
            "mime": self.mime,
            "audio": self.audio,
        }


@dataclass(slots=True)
class AgentResponse(Event):
    type: ClassVar[str] = "agent_response"
    message_id: str
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "messageId": self.message_id, "content": self.content}


@dataclass(slots=True)
class MessageSaved(Event):
    type: ClassVar[str] = "message_saved"
    message: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message}


@dataclass(slots=True)
class StreamEnd(Event):
    type: ClassVar[str] = "stream_end"
    finish_reason: str
    usage: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "finishReason": self.finish_reason, "usage": self.usage}


@dataclass(slots=True)
class Error(Event):
    type: ClassVar[str] = "error"
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "code": self.code, "message": self.message}


def ending(saved: dict[str, Any], usage: dict[str, int] | None) -> list[Event]:
    """The last events of every turn, from its saved reply (``message_to_dict``): the whole reply and its
    saved form, or the error it failed with; then ``stream_end``."""
    if saved["status"] == "error" and saved["error"]:
        last: list[Event] = [Error(saved["error"]["code"], saved["error"]["message"])]
    else:
        last = [AgentResponse(saved["id"], saved["content"]), MessageSaved(saved)]
    return [*last, StreamEnd(saved["finishReason"] or "", usage)]


def logged(event: Event, event_id: int) -> dict[str, Any]:
    """An event as the turn event log keeps it (and the GET stream and websockets send it): its dict and its
    ``eventId``."""
    if type(event) is Token:  # most events by far
        return {"type": "token", "content": event.content, "eventId": event_id}
    payload = event.to_dict()
    payload["eventId"] = event_id
    return payload
