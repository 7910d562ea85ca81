"""One chat turn as one async stream of typed events.

``run_turn`` calls the LLM and yields events; ``TurnStream`` runs it in a task of its own so that a stop
request, a client disconnect and a heartbeat timer can all act on it; every output format reads a
``TurnStream`` (see ``chat.http.sse`` and ``collect_turn``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings

from chat.domain import extensions
from chat.domain.context import fit
from chat.domain.db import run_db
from chat.domain.selectors import reply_streaming
from chat.domain.serializers import message_to_dict
from chat.domain.services import TurnBegun, message_finish, message_refresh_final, messages_interrupt_orphans
from chat.llm.base import LLMChunk, LLMRequest, ToolCallAssembler, Usage
from chat.llm.errors import LLMError
from chat.models import Message
from chat.realtime import get_backend
from chat.realtime.base import TurnRef
from chat.tools.base import ToolContext
from chat.tools.mcp import McpServerConfig
from chat.turns import runtime, speculation, tooling, upstream
from chat.turns.events import (
    HEARTBEAT,
    Error,
    Event,
    Status,
    StreamEnd,
    StreamStart,
    Thinking,
    Token,
    ToolCallDelta,
    ending,
    logged,
)
from chat.turns.publish import TurnPublisher

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TurnOptions:
    """Per-request overrides of the chat model's settings (the OpenAI-compatible API sets these)."""

    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Stateless /v1 requests bring their own message list instead of the stored history.
    messages: list[dict[str, Any]] | None = None
    # A /v1 client's own tools: passed to the model, whose calls go back to the client; none run here.
    client_tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    # Whether the chat model's own tools (built-in and MCP) are offered and run on the server.
    server_tools: bool = True
    # Speak the reply: ``speech`` events, sentence by sentence, among its tokens (see ``voice.synthesis.speaking``).
    speak: bool = False


async def speculate(begun: TurnBegun, options: TurnOptions) -> None:
    """Ask the model now for a turn that may begin soon (``chat.turns.speculation``); ``begun`` is the turn
    as it would be (``turn_preview``), with nothing saved."""
    request, _, _ = await _prepared(begun, options)
    speculation.start(begun.chat.public_id, upstream.provider_for(begun.chat_model), request)


def build_request(begun: TurnBegun, options: TurnOptions) -> LLMRequest:
    """The upstream request: system prompt, prior complete messages, then the new user message."""
    chat_model, chat = begun.chat_model, begun.chat
    if options.messages is not None:
        messages = list(options.messages)
    else:
        system_prompt = chat.system_prompt_for(chat_model)
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages += begun.history
        messages.append({"role": "user", "content": begun.user_message.content})
        if begun.continues is not None:  # the model goes on from the reply's text (an assistant prefill)
            messages.append({"role": "assistant", "content": begun.continues})
    temperature = next(t for t in (options.temperature, chat.temperature, chat_model.temperature) if t is not None)
    return LLMRequest(
        messages=messages,
        model=chat_model.upstream_model or chat_model.name,
        temperature=temperature,
        max_tokens=options.max_tokens if options.max_tokens is not None else chat_model.max_tokens,
        stop=options.stop,
        api_key=upstream.api_key(chat_model),
        extra=options.extra,
        tools=options.client_tools,
        tool_choice=options.tool_choice,
        parallel_tool_calls=options.parallel_tool_calls,
    )


@dataclass(slots=True)
class _Outcome:
    parts: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    ttft_ms: int | None = None
    error: LLMError | None = None
    status: str = Message.Status.COMPLETE
    tools: tooling.ToolRound = field(default_factory=tooling.ToolRound)
    trimmed: int | None = None  # history messages left out to fit the model's context

    def add_usage(self, usage: Usage) -> None:
        """Usage summed over the turn's model calls (one per tool round)."""
        if self.usage is None:
            self.usage = usage
        else:
            self.usage = Usage(
                (self.usage.prompt_tokens or 0) + (usage.prompt_tokens or 0),
                (self.usage.completion_tokens or 0) + (usage.completion_tokens or 0),
            )


async def _prepared(begun: TurnBegun, options: TurnOptions) -> tuple[LLMRequest, tooling.Toolset, int | None]:
    """The upstream request with its tools, its stored history trimmed to fit the model's context
    (``chat.domain.context``; a client's own message list is sent as it came); how many messages were left
    out (None: nothing was)."""
    request = build_request(begun, options)
    toolset = await _toolset(begun, options)
    if toolset:
        request.tools = toolset.as_openai()
    trimmed = None
    if options.messages is None:
        trimmed = fit(request.messages, request.tools, begun.chat_model) or None
    return request, toolset, trimmed


async def _toolset(begun: TurnBegun, options: TurnOptions) -> tooling.Toolset:
    if not options.server_tools or options.client_tools is not None:
        return tooling.Toolset()
    servers = [McpServerConfig.from_model(server) for server in begun.tool_servers]
    return await tooling.toolset_for(list(begun.chat_model.tools or ()), servers)


async def run_turn(
    begun: TurnBegun,
    control: runtime.TurnControl,
    options: TurnOptions,
    *,
    started: float,
    publisher: TurnPublisher | None,
    prelude: Iterable[Event] = (),
) -> AsyncIterator[Event]:
    """The events of one turn, from ``stream_start`` to ``stream_end``. The reply is always saved.

    With tools, a turn is a loop: the model may call tools; they run here and their results go back to it;
    it is called again, up to ``CHAT_MAX_TOOL_STEPS`` rounds, and after the last one it answers without
    tools. A /v1 client's own tools are not run: the calls are streamed back and the turn ends.
    """
    reply, chat_id = begun.assistant_message, begun.chat.public_id
    for event in prelude:
        yield event
    user = begun.user_message
    yield StreamStart(chat_id, user.public_id, user.seq, reply.public_id, begun.chat_model.public_id, reply.seq,
                      begun.continues is not None)  # fmt: skip
    yield Status("thinking…")
    outcome = _Outcome()
    if begun.continues is not None:  # a continued reply keeps what it had
        outcome.parts.append(begun.continues)
        outcome.tools.records = list(reply.tool_calls or ())
    try:
        control.cancellable = True
        async for event in _answer(begun, options, outcome, started):
            yield event
    except LLMError as error:
        outcome.error, outcome.status = error, Message.Status.ERROR
        logger.warning("Turn %s failed: %s (%s)", reply.public_id, error.code, error.detail)
    except asyncio.CancelledError:
        control.cancellable = False
        outcome.status = Message.Status.INTERRUPTED
        if not control.stop_requested:
            # The client went away. Save what arrived, then let the cancellation go on.
            outcome.finish_reason = "client_disconnected"
            await asyncio.shield(_finish(begun, outcome, publisher, started))
            raise
        task = asyncio.current_task()
        assert task is not None  # a turn always runs in its TurnStream's task
        task.uncancel()
        outcome.finish_reason = "stopped"
    except Exception as error:  # A bug must not lose the reply or leave it streaming forever.
        logger.exception("Turn %s crashed", reply.public_id)
        outcome.error = LLMError("Something went wrong on the server.", code="internal_error", detail=repr(error))
        outcome.status = Message.Status.ERROR
    finally:
        control.cancellable = False
    _, saved = await asyncio.shield(_finish(begun, outcome, publisher, started))
    for event in ending(saved, outcome.usage.as_dict() if outcome.usage else None):
        yield event


async def _answer(begun: TurnBegun, options: TurnOptions, outcome: _Outcome, started: float) -> AsyncIterator[Event]:
    """The model asked, and asked again with its tools' results, until it answers: the tool loop.

    A round of calls it already made this turn (small models loop) is not run again: it answers with what it
    has. After ``CHAT_MAX_TOOL_STEPS`` rounds it must answer without tools. A /v1 client's own tools are not
    run here: their calls were streamed back, and the turn ends.
    """
    chat_id, reply = begun.chat.public_id, begun.assistant_message
    request, toolset, outcome.trimmed = await _prepared(begun, options)
    context = ToolContext(begun.chat.owner_id if begun.persist else None, chat_id)
    provider = upstream.provider_for(begun.chat_model)
    guessed = speculation.claim(chat_id, request) if begun.persist else None
    made: set[tuple[str, str]] = set()  # (name, arguments) of the calls run this turn
    step = 0
    while True:
        calls, said = ToolCallAssembler(), len(outcome.parts)
        stream = guessed or provider.stream(request)
        async for event in _model_call(stream, outcome, calls, options, started, after_tools=step > 0):
            yield event
        guessed = None
        if not calls or not toolset or options.client_tools is not None or request.tools is None:
            if (answer := _silent_after_tools(outcome)) is not None:
                yield Token(answer)
            return  # an answer, or calls that are not ours to run (or come after tools were withdrawn)
        round_calls = calls.calls(f"call_{reply.public_id}_{step + 1}")
        keys = {(c.name, c.arguments.strip()) for c in round_calls}
        outcome.finish_reason = None
        if keys <= made:
            request.tools = None  # the same calls again: it answers now with what it has
            continue
        made |= keys
        step += 1
        text = "".join(outcome.parts[said:])
        request.messages.append(
            {"role": "assistant", "content": text, "tool_calls": [c.as_openai() for c in round_calls]}
        )
        async for event in tooling.run_calls(round_calls, toolset, context, outcome.tools, step):
            yield event
        request.messages += outcome.tools.messages
        if outcome.tools.clarification is not None:
            question = outcome.tools.clarification.question
            outcome.parts.append(("\n\n" if outcome.parts else "") + question)
            outcome.finish_reason = "clarification"
            return
        if step >= settings.CHAT_MAX_TOOL_STEPS:
            request.tools = None  # the last round: the model answers with what it has


async def _model_call(
    stream: AsyncIterator[LLMChunk], outcome: _Outcome, calls: ToolCallAssembler, options: TurnOptions,
    started: float, *, after_tools: bool = False,
) -> AsyncIterator[Event]:
    """One call of the model as events: its text and reasoning as they stream, its tool calls gathered.
    ``after_tools``: the text of an earlier round comes before, and a blank line parts them."""
    async for chunk in stream:
        if chunk.content:
            if outcome.ttft_ms is None:
                outcome.ttft_ms = int((time.monotonic() - started) * 1000)
            if after_tools and outcome.parts and "".join(outcome.parts).strip():
                outcome.parts.append("\n\n")
                yield Token("\n\n")
            after_tools = False
            outcome.parts.append(chunk.content)
            yield Token(chunk.content)
        if chunk.reasoning:
            outcome.thinking.append(chunk.reasoning)
            yield Thinking(chunk.reasoning)
        if chunk.status:
            yield Status(chunk.status, state=chunk.status_state)
        if chunk.tool_calls:
            calls.feed(chunk.tool_calls)
            if options.client_tools is not None:
                for delta in chunk.tool_calls:
                    yield ToolCallDelta(delta.index, delta.id, delta.name, delta.arguments)
        if chunk.finish_reason:
            outcome.finish_reason = chunk.finish_reason
        if chunk.usage:
            outcome.add_usage(chunk.usage)


SILENT_TOOLS = "I couldn't find an answer with my tools."


def _silent_after_tools(outcome: _Outcome) -> str | None:
    """A model silent after its tools (small models write calls instead of answering) answers with what its
    first successful call found (later ones are mostly loops), or says its tools gave it no answer."""
    if "".join(outcome.parts).strip() or not outcome.tools.records:
        return None
    results = [record for record in outcome.tools.records if record["ok"]]
    answer = str(results[0]["content"]) if results else SILENT_TOOLS
    outcome.parts.append(answer)
    outcome.finish_reason = "stop"
    return answer


async def _finish(
    begun: TurnBegun, outcome: _Outcome, publisher: TurnPublisher | None, started: float
) -> tuple[Message, dict[str, Any]]:
    """Save the reply once; its publisher tells the other tabs once the turn's last events are out. A save
    that fails still ends the turn: the reply is saved as an ``error`` without its text, or, if even that
    fails, the turn ends as one (the reaper finishes the row)."""
    try:
        message = await _save(begun, outcome, started)
    except Exception as failure:
        logger.exception("The reply %s could not be saved", begun.assistant_message.public_id)
        outcome.error = LLMError("The reply could not be saved.", code="save_failed", detail=repr(failure))
        outcome.status, outcome.finish_reason = Message.Status.ERROR, "error"
        outcome.parts, outcome.thinking, outcome.tools = [], [], tooling.ToolRound()
        try:
            message = await _save(begun, outcome, started)
        except Exception:
            logger.exception("The reply %s could not be saved as failed either", begun.assistant_message.public_id)
            message = begun.assistant_message
            message.status, message.finish_reason, message.error_code = outcome.status, "error", "save_failed"
            message.error_detail = outcome.error.message
    saved = message_to_dict(message)
    if publisher is not None:
        publisher.finished(message, saved, outcome.usage.as_dict() if outcome.usage else None)
    return message, saved


async def _save(begun: TurnBegun, outcome: _Outcome, started: float) -> Message:
    usage = outcome.usage or Usage()
    error = outcome.error
    finish = functools.partial(
        message_finish,
        message=begun.assistant_message,
        content="".join(outcome.parts),
        reasoning="".join(outcome.thinking),
        status=outcome.status,
        finish_reason=outcome.finish_reason or ("error" if error else "stop"),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        ttft_ms=outcome.ttft_ms,
        duration_ms=int((time.monotonic() - started) * 1000),
        error_code=error.code if error else "",
        error_detail=f"{error.message}\n{error.detail}".strip() if error else "",
        tool_calls=outcome.tools.records,
        context_trimmed=outcome.trimmed,
    )
    return await run_db(finish) if begun.persist else finish()


class TurnStream:
    """Runs a turn's events in a task of its own and hands them to one reader.

    Each event gets its ``eventId`` here (1, 2, 3…) and goes to the turn's publisher (the event log and the
    chat's open tabs) as well as to the reader. The reader (an SSE response, a JSON collector) can go away
    at any time: ``aclose`` cancels the turn, which saves the partial reply as ``interrupted``. A stop
    request cancels the same task but lets the turn finish its events. ``keep_alive`` adds a ``Heartbeat``
    after each quiet interval, from one timer per stream rather than a timeout around every event.
    """

    _END = object()

    def __init__(
        self,
        events: AsyncIterator[Event],
        control: runtime.TurnControl | None,
        on_finish: Callable[[], Awaitable[None]] | None = None,
        publisher: TurnPublisher | None = None,
    ):
        self.control = control
        self._on_finish = on_finish
        self._publisher = publisher
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._last_event = self._loop.time()
        self._heartbeat: asyncio.TimerHandle | None = None
        self._task = asyncio.create_task(self._pump(events))
        self._detached = False  # the reader left, and the turn goes on without one
        self._listener = None
        if control is not None:
            control.task = self._task
            runtime.register(control)
            self._listener = get_backend().listen_for_stop(control)  # stop requests from other processes

    async def _pump(self, events: AsyncIterator[Event]) -> None:
        loop, queue, publisher = self._loop, self._queue, self._publisher
        event_id = 0
        try:
            async for event in events:
                event_id += 1
                if publisher is not None:
                    publisher.event(logged(event, event_id))
                if not self._detached:
                    queue.put_nowait((event_id, event))
                self._last_event = loop.time()
        finally:
            if self._heartbeat is not None:
                self._heartbeat.cancel()
            if publisher is not None:
                await asyncio.shield(publisher.close())
            if self.control is not None:
                runtime.unregister(self.control)
            if self._listener is not None:
                self._listener.cancel()
            self._queue.put_nowait(self._END)
            if self._on_finish is not None:
                await asyncio.shield(self._on_finish())

    def keep_alive(self, interval: float) -> None:
        """Add a ``Heartbeat`` whenever ``interval`` seconds pass without an event."""

        def beat() -> None:
            if self._task.done() or self._detached:
                return
            now = self._loop.time()
            if now - self._last_event >= interval:
                self._queue.put_nowait((0, HEARTBEAT))
                self._last_event = now
            self._heartbeat = self._loop.call_at(self._last_event + interval, beat)

        self._heartbeat = self._loop.call_at(self._last_event + interval, beat)

    async def next(self) -> tuple[int, Event] | None:
        """The next event with its eventId (a ``Heartbeat`` has 0), or None once the turn is over."""
        item = await self._queue.get()
        if item is self._END:
            await self._task  # Surfaces a crash of the pump itself.
            return None
        return cast(tuple[int, Event], item)

    async def collect(self) -> list[Event]:
        """Every event of the turn, for the non-streaming forms."""
        try:
            events = []
            while (item := await self.next()) is not None:
                if item[1] is not HEARTBEAT:
                    events.append(item[1])
            return events
        finally:
            await self.aclose()

    async def detach(self) -> None:
        """The reader is gone, but the turn goes on to its end: saved, and published to the log and the tabs
        as always (a page that reloads follows it there). Stop requests still end it."""
        if self._task.done():
            await self.aclose()
            return
        self._detached = True
        while not self._queue.empty():  # nobody will read what is queued
            self._queue.get_nowait()

    async def aclose(self) -> None:
        """The reader is gone: cancel the turn (it saves what it has) and wait for it to finish."""
        if not self._task.done():
            self._task.cancel()
        try:
            await asyncio.shield(self._task)
        except (asyncio.CancelledError, Exception):
            pass


def start_turn(
    begun: TurnBegun,
    options: TurnOptions,
    *,
    started: float,
    prelude: Iterable[Event] = (),
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> TurnStream:
    """Start a new turn, or the replay of an earlier one, and return its stream of events."""
    if begun.replay:
        return TurnStream(replay_turn(begun, prelude=prelude), None, on_finish)
    reply = begun.assistant_message
    control = runtime.TurnControl(begun.chat.public_id, reply.public_id)
    publisher = None
    if begun.persist:  # a stored turn is published; a stateless API request is nobody else's business
        publisher = TurnPublisher(TurnRef(begun.chat.public_id, reply.seq, reply.public_id))
        publisher.start(begun.user_message if begun.new_user_message else None)
    events = run_turn(begun, control, options, started=started, publisher=publisher, prelude=prelude)
    if options.speak and (speak := extensions.speaker()) is not None:
        events = speak(events, reply.public_id)
    return TurnStream(events, control, on_finish, publisher)


async def reply_settled(message: Message, *, timeout: float) -> Message:
    """Wait until a reply has stopped streaming, in this process or another (or ``timeout`` passed), and
    return it with its final fields read again (cached relations, its chat, stay)."""
    control = runtime.get(message.public_id)
    if control is not None:
        try:
            async with asyncio.timeout(timeout):
                await control.done.wait()
        except TimeoutError:
            pass
    deadline = time.monotonic() + timeout
    while True:
        await run_db(message_refresh_final, message=message)
        if message.status != Message.Status.STREAMING or time.monotonic() > deadline:
            return message
        await asyncio.sleep(0.1)


async def stop_running(chat_id: str) -> Message | None:
    """Stop the reply streaming in this chat, wherever it runs, and return it once it is saved."""
    message = await run_db(reply_streaming, chat_id=chat_id)
    if message is None:
        return None
    control = runtime.get(message.public_id)
    if control is not None:
        control.stop()
    elif not await get_backend().request_stop(chat_id, message.public_id):
        # No other process can be running it: it died with an earlier process.
        await run_db(messages_interrupt_orphans, message_ids=[message.pk])
    return await reply_settled(message, timeout=10)


async def replay_turn(begun: TurnBegun, *, prelude: Iterable[Event] = ()) -> AsyncIterator[Event]:
    """The events of an already stored turn, for a retry that repeats its clientMessageId."""
    for event in prelude:
        yield event
    reply = begun.assistant_message
    if reply is not None and reply.status == Message.Status.STREAMING:
        reply = await reply_settled(reply, timeout=settings.LLM_READ_TIMEOUT * 2)  # a retry raced it
    reply_id = reply.public_id if reply else ""
    user = begun.user_message
    yield StreamStart(begun.chat.public_id, user.public_id, user.seq, reply_id, begun.chat_model.public_id,
                      reply.seq if reply else 0)  # fmt: skip
    if reply is None:
        yield Error("turn_incomplete", "The earlier attempt of this message has no reply.")
        yield StreamEnd("error")
        return
    saved = message_to_dict(reply)
    if reply.content:
        yield Token(reply.content)
    for event in ending(saved, saved["usage"]):
        yield event
