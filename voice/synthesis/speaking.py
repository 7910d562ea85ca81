"""A turn spoken as it streams: its tokens are cut into sentences (``voice.synthesis.sentences``), each sentence is
synthesised on the synthesis thread as soon as it is complete, in order, and goes out as a ``speech`` event
(Ogg Opus, base64) among the turn's other events.

The turn's own events run in the turn's task, untouched: a stop or a disconnect reaches the turn as before.
Finished audio goes out with the next event that passes, and all of it before ``stream_end``; a reply cut off
(stopped, disconnected, failed) says nothing more after that.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator

from chat.turns.events import AgentResponse, ClarificationNeeded, Error, Event, Speech, StreamEnd, Token
from voice.audio.encoding import MIME, encode_whole
from voice.synthesis.registry import get_speech_engine
from voice.synthesis.sentences import SentenceSplitter
from voice.synthesis.worker import synthesize

logger = logging.getLogger(__name__)

FORMAT = "opus"
FIRST_CLAUSE_WORDS = 4  # the first audio may be a sentence's first clause, once it has this many words
SPOKEN_ENDINGS = {"stop", "length", "clarification", "tool_calls"}


class _Voice:
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.splitter = SentenceSplitter(first_clause_words=FIRST_CLAUSE_WORDS)
        self.pending: list[tuple[int, str, asyncio.Future[bytes]]] = []
        self.index = 0
        self.failed = False
        try:
            self.engine = get_speech_engine()
        except Exception as error:  # no engine: the turn goes on in text only
            logger.warning("Speech is not available: %s", error)
            self.failed = True

    def say(self, sentences: list[str]) -> None:
        if self.failed:
            return
        for text in sentences:
            self.pending.append((self.index, text, asyncio.ensure_future(self._audio(text))))
            self.index += 1

    async def _audio(self, text: str) -> bytes:
        speech = await synthesize(self.engine, text)
        return await asyncio.to_thread(encode_whole, speech.samples, speech.sample_rate, FORMAT)

    def ready(self) -> list[Event]:
        """The speech events whose audio is done, in order (a later one waits for an earlier one)."""
        out: list[Event] = []
        while self.pending and self.pending[0][2].done():
            out += self._event(self.pending.pop(0))
        return out

    async def rest(self) -> list[Event]:
        out: list[Event] = []
        while self.pending:
            item = self.pending[0]
            await asyncio.wait([item[2]])
            out += self._event(self.pending.pop(0))
        return out

    def _event(self, item: tuple[int, str, asyncio.Future[bytes]]) -> list[Event]:
        index, text, future = item
        if future.cancelled() or future.exception() is not None:
            if not future.cancelled():
                logger.warning("Speech failed for a sentence: %s", future.exception())
            return []
        audio = base64.b64encode(future.result()).decode("ascii")
        return [Speech(self.message_id, index, text, MIME[FORMAT], audio)]

    def cancel(self) -> None:
        for _, _, future in self.pending:
            future.cancel()
        self.pending.clear()


async def speak(events: AsyncIterator[Event], message_id: str) -> AsyncIterator[Event]:
    voice = _Voice(message_id)
    try:
        async for event in events:
            if isinstance(event, Token):
                voice.say(voice.splitter.feed(event.content))
            elif isinstance(event, ClarificationNeeded):
                voice.say(voice.splitter.feed("\n\n" + event.question + "\n\n"))
            elif isinstance(event, AgentResponse | Error):
                voice.say(voice.splitter.flush())
            if isinstance(event, StreamEnd):
                if event.finish_reason in SPOKEN_ENDINGS:
                    for spoken in await voice.rest():
                        yield spoken
                voice.cancel()
            elif isinstance(event, Error):
                voice.cancel()
            else:
                for spoken in voice.ready():
                    yield spoken
            yield event
    finally:
        voice.cancel()
