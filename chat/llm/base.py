"""The provider interface: turn a conversation into a stream of chunks from some LLM."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chat.models import ChatModel


@dataclass(slots=True)
class LLMRequest:
    """What every provider receives: the full message list (system prompt first) and sampling options."""

    messages: list[dict[str, str]]
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    api_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


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
    # A note for the person waiting, e.g. that the request is queued behind another one.
    status: str | None = None


class LLMProvider(ABC):
    """A source of streamed replies. One instance per upstream, shared by every turn in the process."""

    @classmethod
    @abstractmethod
    def for_chat_model(cls, chat_model: ChatModel) -> LLMProvider:
        """The shared instance that serves this chat model."""

    @abstractmethod
    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        """Stream the reply. Raises ``chat.exceptions.LLMError`` subclasses on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections or loaded weights."""
