"""Replies begun before their turn: conversation mode asks the model with the words of a pause while it
waits out the silence that ends the turn (``voice.conversation``). When the turn begins, it takes over the
stream already under way, with the chunks that came meanwhile, if its request is exactly the one guessed;
otherwise the guess is cancelled and the turn asks the model itself. Either way the turn is the same: only
the time to its first token changes.

One guess per chat, in the process that runs the chat's conversation socket (which also runs its turns).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from chat.llm.base import LLMChunk, LLMProvider, LLMRequest

_guesses: dict[str, _Guess] = {}


class _Guess:
    def __init__(self, provider: LLMProvider, request: LLMRequest) -> None:
        self.request = request
        self.chunks: list[LLMChunk] = []
        self.error: BaseException | None = None
        self.done = False
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._run(provider))

    async def _run(self, provider: LLMProvider) -> None:
        try:
            async for chunk in provider.stream(self.request):
                self.chunks.append(chunk)
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # handed to the turn that takes the guess over, which reports it
            self.error = error
        finally:
            self.done = True
            self._changed.set()

    async def stream(self) -> AsyncIterator[LLMChunk]:
        """The chunks so far, then the rest as they come; closing this ends the generation."""
        sent = 0
        try:
            while True:
                while sent < len(self.chunks):
                    sent += 1
                    yield self.chunks[sent - 1]
                if self.done:
                    if self.error is not None:
                        raise self.error
                    return
                self._changed.clear()
                await self._changed.wait()
        finally:
            self.cancel()

    def cancel(self) -> None:
        if not self.task.done():
            self.task.cancel()


def start(chat_id: str, provider: LLMProvider, request: LLMRequest) -> None:
    """Ask the model now for a turn that may begin soon (a guess already made for the chat is dropped)."""
    drop(chat_id)
    _guesses[chat_id] = _Guess(provider, request)


def claim(chat_id: str, request: LLMRequest) -> AsyncIterator[LLMChunk] | None:
    """The guessed stream, if the chat's guess asked exactly ``request``; None otherwise (and it is dropped)."""
    guess = _guesses.pop(chat_id, None)
    if guess is None:
        return None
    if guess.task.cancelled() or not _same(guess.request, request):
        guess.cancel()
        return None
    return guess.stream()


def drop(chat_id: str) -> None:
    """The person went on speaking, or left: the guess is not needed."""
    if (guess := _guesses.pop(chat_id, None)) is not None:
        guess.cancel()


def _same(a: LLMRequest, b: LLMRequest) -> bool:
    return (a.messages, a.model, a.temperature, a.max_tokens, a.stop, a.api_key, a.extra, a.tools, a.tool_choice,
            a.parallel_tool_calls) == (b.messages, b.model, b.temperature, b.max_tokens, b.stop, b.api_key, b.extra,
                                       b.tools, b.tool_choice, b.parallel_tool_calls)  # fmt: skip
