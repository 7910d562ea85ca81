"""Conversation mode: ``/ws/chats/<ci>/voice/``. The page keeps the microphone open and streams 16 kHz mono
16-bit PCM here as binary frames; the server finds the ends of turns with voice activity detection
(``voice.conversation.vad``), transcribes each utterance, and answers it with the same turn as
``/api/chat/voice``, spoken.

Frames from the server are JSON: the turn's events as the POST stream sends them (``transcription`` first,
``speech`` among the tokens), ``status`` events for each phase (``listening``, ``transcribing``, ``thinking``,
``speaking``), ``level`` (the microphone's loudness, a few times a second), ``heard`` (the words of a pause's
speech, as soon as they are transcribed: the turn's text unless the person goes on before the silence ends
the turn), ``dropped`` (an utterance that was silence or a Whisper hallucination: nothing is sent to the
model) and ``barge_in`` (the person spoke over the reply: stop playing it now).

Transcription uses ``VOICE_WHISPER_ENGINE`` / ``VOICE_WHISPER_MODEL`` (tiny.en by default for English), and
starts after a short pause (``Utterances.tentative_ms``), long before the silence that ends the turn.

Frames from the page: binary audio, and JSON ``{"type": "playing", "messageId", "index"}`` when a sentence
starts playing, ``{"type": "idle"}`` when playback ends, ``{"type": "stop"}`` to stop the reply. Anything
else closes the socket with code 4400 and a reason.

Limits: a user may have ``RATE_LIMIT_VOICE_SOCKETS`` of these sockets open at once (one more is told why and
closed with code 4429). An early reply counts as its turn against ``RATE_LIMIT_TURNS_PER_MINUTE`` and holds
one of the user's ``RATE_LIMIT_CONCURRENT_STREAMS`` until its turn begins or it is dropped; while a user is
over a limit, pauses are not transcribed, no reply is begun early and an utterance is refused before it is
transcribed. At most ``MAX_PENDING_UTTERANCES`` wait for their turn; more are dropped.

Barge-in: speech that lasts ``VOICE_BARGE_IN_MS`` while the reply streams or plays stops it. The reply is
saved ``interrupted`` with what had been spoken of it, and the new utterance is the next turn. Speech in the
first ``VOICE_PLAYBACK_GRACE_MS`` of playback must last twice as long (the browser's echo cancellation
removes most of the reply from the microphone; this keeps what is left from interrupting it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import numpy as np
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat.domain.db import run_db
from chat.domain.selectors import chat_get
from chat.domain.services import turn_preview
from chat.exceptions import ChatError, NotFound, RateLimited
from chat.http.ratelimit import acquire_stream, acquire_voice_socket, check_turn_rate, subjects
from chat.turns import speculation
from chat.turns.events import HEARTBEAT, Speech, Status, StreamEnd, Token, Transcription, logged
from chat.turns.run import TurnOptions, TurnStream, speculate, start_turn
from chat.ws.consumers import MAX_PUBLIC_ID
from config.compat.consumers import LeanConsumer
from voice.conversation.vad import RATE, Utterance, Utterances
from voice.models import AudioRecording
from voice.services import recording_latency_set, reply_interrupt, utterance_turn_begin
from voice.synthesis.worker import preload as speech_preload
from voice.transcription.hallucinations import is_hallucination
from voice.transcription.registry import voice_engine

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = RATE * 2  # one second of audio
LEVEL_EVERY = 0.1  # seconds between level frames
MAX_PENDING_UTTERANCES = 2  # waiting while a turn runs; a person rarely says more than that over a reply


class ConversationConsumer(LeanConsumer, AsyncWebsocketConsumer):
    own_channel = False  # it follows no group: the socket's own frames are all it reads

    async def connect(self) -> None:
        self.chat_id = self.scope["url_route"]["kwargs"]["chat_id"]
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated or len(self.chat_id) > MAX_PUBLIC_ID:
            await self.close()
            return
        try:
            await run_db(chat_get, user=self.user, chat_id=self.chat_id)
        except NotFound:
            await self.close()
            return
        try:
            self.release_socket = await acquire_voice_socket(self.user)
        except RateLimited as error:
            await self.accept()
            await self._error(error.code, error.message)
            await self.close(code=4429, reason=error.message[:120])
            return
        self.utterances = Utterances(silence_ms=settings.VOICE_SILENCE_MS)
        self.turn: TurnStream | None = None
        self.turn_task: asyncio.Task[None] | None = None
        self.reply: dict[str, Any] = {}  # the running reply: id, spoken sentences, what is playing
        self.playing_since: float | None = None
        self.barged = False
        self.level_at = 0.0
        self.work: asyncio.Queue[tuple[Utterance, asyncio.Task[Any] | None]] = asyncio.Queue(MAX_PENDING_UTTERANCES)
        # The speech so far, being transcribed while the silence that may end the turn is waited out.
        self.tentative: tuple[Utterance, asyncio.Task[Any]] | None = None
        self.keys = subjects(self.user, None)
        self.guess_slot: Any = None  # releases the stream slot an early reply holds
        self.limited: tuple[float, RateLimited] | None = None  # over a limit until then
        await self.accept()
        self.worker = asyncio.create_task(self._answer_utterances())
        self.warming = asyncio.create_task(_warm())
        await self._status("listening", "listening…")

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "release_socket"):
            return  # refused before it was accepted
        tentative = self.tentative
        for task in (self.worker, self.turn_task, self.warming, tentative and tentative[1]):
            if task is not None:
                task.cancel()
        await self._drop_guess()
        await self.release_socket()

    # --- frames from the page ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            if len(bytes_data) % 2 or len(bytes_data) > MAX_FRAME_BYTES:
                await self._refuse("Audio frames are 16 kHz mono 16-bit PCM, at most one second each.")
                return
            await self._audio(np.frombuffer(bytes_data, dtype="<i2").astype(np.float32) / 32768.0)
            return
        try:
            message = json.loads(text_data or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self._refuse("Text frames are JSON objects with a 'type'.")
            return
        if kind == "playing":
            self.reply["playing"] = message.get("index")
            self.playing_since = self.playing_since or time.monotonic()
        elif kind == "idle":
            self.playing_since = None
        elif kind == "stop":
            await self._stop_reply()
        elif kind != "ping":
            await self._refuse(f"Unknown message type {str(kind)[:40]!r}.")

    async def _refuse(self, reason: str) -> None:
        await self._error("bad_frame", reason)
        await self.close(code=4400, reason=reason[:120])

    async def _error(self, code: str, message: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "code": code, "message": message}))

    async def _audio(self, samples: np.ndarray) -> None:
        for utterance in self.utterances.feed(samples):
            if not (self.barged or not self._replying()):
                continue  # heard while the reply played and too short to interrupt it: its own echo, most likely
            if not utterance.final:
                if self.tentative is not None:
                    self.tentative[1].cancel()
                    self.tentative = None
                    await self._drop_guess()
                if self._limit_error() is None:
                    self.tentative = (utterance, asyncio.create_task(self._transcribe_pause(utterance)))
                continue
            self.barged = False
            early = None
            if self.tentative is not None:
                guess, task = self.tentative
                self.tentative = None
                if guess.ended_at == utterance.ended_at and len(guess.samples) == len(utterance.samples):
                    early = task  # the person said nothing more: the transcription under way is the final one
                else:
                    task.cancel()
                    await self._drop_guess()
            try:
                self.work.put_nowait((utterance, early))
            except asyncio.QueueFull:
                if early is not None:
                    early.cancel()
                await self.send(text_data=json.dumps({"type": "dropped", "reason": "busy", "text": ""}))
        now = time.monotonic()
        if now - self.level_at >= LEVEL_EVERY:
            self.level_at = now
            await self.send(
                text_data=json.dumps({"type": "level", "value": round(min(self.utterances.level * 5, 1), 3)})
            )
        if self._replying() and not self.barged and self._barge_in_heard():
            self.barged = True
            await self.send(text_data=json.dumps({"type": "barge_in"}))
            await self._stop_reply(barge_in=True)

    def _replying(self) -> bool:
        running = self.turn_task is not None and not self.turn_task.done()
        return running or self.playing_since is not None

    def _barge_in_heard(self) -> bool:
        heard_ms = self.utterances.heard_ms
        needed = settings.VOICE_BARGE_IN_MS
        if (
            self.playing_since is not None
            and time.monotonic() - self.playing_since < settings.VOICE_PLAYBACK_GRACE_MS / 1000
        ):
            needed *= 2
        return heard_ms >= needed

    async def _transcribe_pause(self, utterance: Utterance) -> tuple[Any, float, bool]:
        """The speech before a pause, transcribed while the rest of the turn's silence is waited out; the
        words go to the page at once (a ``heard`` frame) if the person has not spoken again meanwhile.
        Returns the transcript, when it was ready, and whether an early reply counted the turn already."""
        transcript = await _engine().atranscribe(utterance.samples, short=True)
        ready = time.monotonic()
        counted = False
        if (
            self._pausing_after(utterance)
            and transcript.text.strip()
            and not is_hallucination(transcript.text, utterance.speech_ms)
        ):
            await self.send(text_data=json.dumps({"type": "heard", "text": transcript.text}, ensure_ascii=False))
            if not self._replying():
                counted = await self._begin_early(utterance, transcript.text)
        return transcript, ready, counted

    async def _begin_early(self, utterance: Utterance, text: str) -> bool:
        """Ask the model now on the words of a pause; the turn takes its reply over if the person says nothing
        more (``chat.turns.speculation``), so its first words come ~0.3 s sooner. This counts as the turn
        against the user's limits (True when it did), and holds a stream slot until the turn begins."""
        try:
            await check_turn_rate(self.keys)
        except RateLimited as error:
            self._over_limit(error)
            return False
        try:
            slot = await acquire_stream(self.keys)
        except RateLimited as error:
            self._over_limit(error)
            return True
        await self._release_guess_slot()
        self.guess_slot = slot
        try:
            preview = await run_db(turn_preview, user=self.user, chat_id=self.chat_id, content=text)
            if self._pausing_after(utterance):
                await speculate(preview, TurnOptions(speak=True))
                return True
        except Exception:  # the turn asks the model itself
            logger.exception("Could not begin the reply early")
        await self._release_guess_slot()
        return True

    async def _drop_guess(self) -> None:
        """The person went on speaking, or left: the early reply is not needed."""
        speculation.drop(self.chat_id)
        await self._release_guess_slot()

    async def _release_guess_slot(self) -> None:
        slot, self.guess_slot = self.guess_slot, None
        if slot is not None:
            await slot()

    def _over_limit(self, error: RateLimited) -> None:
        self.limited = (time.monotonic() + error.retry_after, error)

    def _limit_error(self) -> RateLimited | None:
        """The limit this user is over, while it lasts."""
        if self.limited is not None and time.monotonic() < self.limited[0]:
            return self.limited[1]
        return None

    def _pausing_after(self, utterance: Utterance) -> bool:
        """Whether the person is still silent after ``utterance`` (it is the pause being waited out)."""
        return self.tentative is not None and self.tentative[0] is utterance

    # --- turns ---------------------------------------------------------------------------------------

    async def _answer_utterances(self) -> None:
        while True:
            utterance, early = await self.work.get()
            if self.turn_task is not None:
                await asyncio.gather(self.turn_task, return_exceptions=True)
            try:
                await self._answer(utterance, early)
            except ChatError as error:
                await self.send(text_data=json.dumps({"type": "error", "code": error.code, "message": error.message}))
            except Exception:
                logger.exception("Conversation turn failed")
                await self.send(text_data=json.dumps({"type": "error", "code": "internal_error",
                                                      "message": "Something went wrong on the server."}))  # fmt: skip
            await self._status("listening", "listening…")

    async def _answer(self, utterance: Utterance, early: asyncio.Task[Any] | None) -> None:
        speech_end = time.monotonic() - max(self.utterances.fed / RATE - utterance.ended_at, 0)
        if (limit := self._limit_error()) is not None:
            if early is not None:
                early.cancel()
            raise limit  # refused before Whisper spends anything on it
        await self._status("transcribing", "transcribing…")
        engine = _engine()
        counted = False
        if early is not None:
            transcript, text_ready, counted = await early
        else:
            transcript = await engine.atranscribe(utterance.samples, short=True)
            text_ready = time.monotonic()
        if is_hallucination(transcript.text, utterance.speech_ms):
            await self.send(text_data=json.dumps({"type": "dropped", "reason": "no_speech", "text": transcript.text}))
            return
        text_ms = int((text_ready - speech_end) * 1000)
        await self._release_guess_slot()  # the turn takes the early reply over with a slot of its own
        try:
            if not counted:
                await check_turn_rate(self.keys)
            release = await acquire_stream(self.keys)
        except RateLimited as error:
            self._over_limit(error)
            raise
        try:
            begun = await self._begin(utterance, transcript, engine)
        except BaseException:
            await release()
            raise
        audio = begun.user_message.audio
        event = Transcription(transcript.text, audio.language, audio.duration_ms, begun.user_message.public_id)
        self.reply = {"id": begun.assistant_message.public_id, "spoken": {}, "playing": None,
                      "speech_end": speech_end, "first_token": None, "first_audio": None}  # fmt: skip
        self.turn = start_turn(begun, TurnOptions(speak=True), started=time.monotonic(), prelude=[event],
                               on_finish=release)  # fmt: skip
        self.turn_task = asyncio.create_task(self._relay(self.turn, begun.user_message.audio, text_ms))

    async def _begin(self, utterance: Utterance, transcript: Any, engine: Any) -> Any:
        return await run_db(
            utterance_turn_begin, user=self.user, chat_id=self.chat_id, samples=utterance.samples,
            transcript=transcript, engine=engine.name, model=engine.model_name,
        )  # fmt: skip

    async def _relay(self, turn: TurnStream, recording: AudioRecording, text_ms: int) -> None:
        reply = self.reply
        await self._status("thinking", "thinking…")
        speaking = False
        while (item := await turn.next()) is not None:
            event_id, event = item
            if event is HEARTBEAT:
                continue
            if isinstance(event, Token) and reply["first_token"] is None:
                reply["first_token"] = time.monotonic()
            if isinstance(event, Speech):
                reply["spoken"][event.index] = event.text
                reply["first_audio"] = reply["first_audio"] or time.monotonic()
                if not speaking:
                    speaking = True
                    await self._status("speaking", "speaking…")
            if isinstance(event, StreamEnd):  # saved before the page hears the turn is over
                end = reply["speech_end"]
                first_token, first_audio = (
                    int((reply[key] - end) * 1000) if reply[key] else None for key in ("first_token", "first_audio")
                )
                await run_db(recording_latency_set, recording=recording, text_ms=text_ms,
                             first_token_ms=first_token, first_audio_ms=first_audio)  # fmt: skip
            await self.send(text_data=json.dumps(logged(event, event_id), ensure_ascii=False))
        if self.barged:
            await self._keep_heard()

    async def _stop_reply(self, *, barge_in: bool = False) -> None:
        self.playing_since = None
        if self.turn_task is not None and not self.turn_task.done():
            if self.turn is not None and self.turn.control is not None:
                self.turn.control.stop()  # ``_relay`` keeps what was heard once the turn has ended
        elif barge_in and self.reply.get("id"):  # the reply had finished streaming and was still playing
            await self._keep_heard()

    async def _keep_heard(self) -> None:
        reply = self.reply
        await run_db(reply_interrupt, message_id=reply["id"], spoken=reply["spoken"], playing=reply.get("playing"))

    async def _status(self, state: str, message: str) -> None:
        await self.send(text_data=json.dumps(Status(message, state=state).to_dict()))


def _engine() -> Any:
    """Conversation mode's transcription engine (``VOICE_WHISPER_ENGINE`` / ``VOICE_WHISPER_MODEL``)."""
    return voice_engine()


async def _warm() -> None:
    """Load the transcription engine (and run it once) and the speech engine while the person starts to
    speak, so that the first utterance is not the one that waits for them."""
    speech_preload()
    try:
        engine = _engine()
        if not engine.loaded:  # once per process: later sockets find it warm
            await engine.atranscribe(np.zeros(RATE // 2, dtype=np.float32), short=True)
    except Exception as error:  # the first utterance will say it
        logger.warning("The transcription engine could not be loaded: %s", error)
