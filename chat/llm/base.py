"""The provider interface: turn a conversation into a stream of chunks from some LLM."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Everything a provider needs to reach its model; the turn layer builds it from a ``ChatModel`` and the
    settings (``chat.turns.upstream``). One shape for every provider, as Django's ``DATABASES`` entries are:
    each provider reads the fields that concern it. Equal configs share one provider instance."""

    # OpenAI-compatible servers
    base_url: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_connections: int = 100
    # Models run in process
    model_path: Path | None = None
    context: int = 4096
    threads: int = 2
    repeat_penalty: float = 1.1
    parallel: int = 1  # replies generated together, each with ``context`` tokens of its own


@dataclass(slots=True)
class LLMRequest:
    """What every provider receives: the full message list (system prompt first, in OpenAI's shape, tool
    calls and ``role: "tool"`` results included) and sampling options."""

    messages: list[dict[str, Any]]
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    api_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Functions the model may call, in OpenAI's ``tools`` format; None offers none.
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a tool call as a model streams it: calls are told apart by ``index``; ``id`` and ``name``
    come once, ``arguments`` (JSON text) may be split over many chunks."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class ToolCall:
    """A whole tool call. ``arguments`` is the JSON text the model wrote, which may be broken."""

    id: str
    name: str
    arguments: str

    def as_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


class ToolCallAssembler:
    """Joins streamed ``ToolCallDelta``s into whole calls, several per response, in the order they began."""

    def __init__(self) -> None:
        self._calls: dict[int, ToolCallDelta] = {}

    def feed(self, deltas: list[ToolCallDelta]) -> None:
        for delta in deltas:
            call = self._calls.setdefault(delta.index, ToolCallDelta(delta.index))
            call.id = call.id or delta.id
            call.name = call.name or delta.name  # sent once; some servers repeat it in every delta
            call.arguments += delta.arguments

    def __bool__(self) -> bool:
        return bool(self._calls)

    def calls(self, id_prefix: str = "call") -> list[ToolCall]:
        return [
            ToolCall(call.id or f"{id_prefix}_{n}", call.name or "", call.arguments)
            for n, call in enumerate(self._calls[index] for index in sorted(self._calls))
        ]


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def as_dict(self) -> dict[str, int]:
        """The product's shape (the API's ``usage`` fields)."""
        prompt, completion = self.prompt_tokens or 0, self.completion_tokens or 0
        return {"promptTokens": prompt, "completionTokens": completion, "totalTokens": prompt + completion}

    def as_openai(self) -> dict[str, int]:
        """OpenAI's shape (``/v1``)."""
        prompt, completion = self.prompt_tokens or 0, self.completion_tokens or 0
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@dataclass(slots=True)
class LLMChunk:
    """One piece of a streamed reply. Most carry ``content``; the last ones carry finish and usage."""

    content: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    # A note for the person waiting: the request is queued behind others ("queued"), or a long prompt is
    # being read ("reading", the note saying how far).
    status: str | None = None
    status_state: str = "queued"
    tool_calls: list[ToolCallDelta] | None = None


class LLMProvider(ABC):
    """A source of streamed replies. One instance per upstream, shared by every turn in the process."""

    @classmethod
    @abstractmethod
    def shared(cls, config: ProviderConfig) -> LLMProvider:
        """The process's instance for this config (created on first use)."""

    @abstractmethod
    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        """Stream the reply. Raises ``chat.llm.errors.LLMError`` subclasses on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections or loaded weights."""
