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

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "chatInstanceId": self.chat_instance_id,
            "userMessage": {"id": self.user_message_id, "seq": self.user_message_seq},
            "assistantMessageId": self.assistant_message_id,
            "model": self.model,
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


def logged(event: Event, event_id: int) -> dict[str, Any]:
    """An event as the turn event log keeps it (and the GET stream and websockets send it): its dict and its
    ``eventId``."""
    if type(event) is Token:  # most events by far
        return {"type": "token", "content": event.content, "eventId": event_id}
    payload = event.to_dict()
    payload["eventId"] = event_id
    return payload
