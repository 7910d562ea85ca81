"""The one synthesis thread: speech is made off the event loop, one piece at a time, so sentences come out
in the order they went in; an engine's errors become the API's errors here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from voice.audio.encoding import StreamEncoder
from voice.exceptions import SpeechUnavailable
from voice.synthesis.base import Speech, SpeechEngine, SpeechError
from voice.synthesis.registry import get_speech_engine

logger = logging.getLogger(__name__)

_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")


async def encoded_speech(
    engine: SpeechEngine, texts: list[str], fmt: str, *, speed: float = 1.0, first: Speech | None = None
) -> AsyncIterator[bytes]:
    """``texts`` spoken one after the other as one stream in ``fmt``, each piece as soon as it is made
    (``first``: the first one, already synthesised)."""
    encoder = StreamEncoder(fmt)
    for index, text in enumerate(texts):
        speech = first if index == 0 and first is not None else await synthesize(engine, text, speed=speed)
        yield encoder.encode(speech.samples, speech.sample_rate)
    yield encoder.close()


def preload() -> None:
    """Load the default speech engine on the synthesis thread, in the background."""

    def load() -> None:
        try:
            get_speech_engine().load()
        except Exception as error:  # logged; a spoken reply will say it in text only
            logger.warning("The speech engine could not be loaded: %s", error)

    _thread.submit(load)


async def synthesize(engine: SpeechEngine, text: str, *, speed: float = 1.0) -> Speech:
    """Speak ``text`` on the synthesis thread; ``SpeechUnavailable`` (503) if the engine cannot."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_thread, lambda: engine.synthesize(text, speed=speed))
    except SpeechError as error:
        raise SpeechUnavailable(error.message, code=error.code, detail=error.detail) from error
