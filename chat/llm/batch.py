"""Continuous batching for a GGUF model run in process: every running reply of one model advances in the same
llama.cpp decode, so that nobody waits for other people's replies to finish.

The model's context holds ``slots`` sequences (one KV-cache sequence id each, ``context`` tokens each). A job
(one reply) takes a free slot; each step decodes one batch made of the next token of every reply that is
generating and the next chunk of the prompt of every reply that is reading its prompt (up to ``n_batch``
tokens in all, so a long prompt does not stall the others for long). After the decode each generating
reply samples its own token with its own sampler chain (repetition penalty, top-k, top-p, min-p,
temperature), as llama.cpp's server does. A new job joins at the next step; a finished, stopped or
abandoned one leaves it and frees its slot: continuous batching.

A slot keeps the tokens it holds after its job ends. A new job takes the free slot that shares the longest
prefix with its prompt and reads only the rest, so the next turn of a conversation does not read the
conversation again.

Everything here runs on one thread (``run`` is called on the model's own thread; llama.cpp's worker threads
belong to the thread that calls it). ``submit`` may be called from any thread.
"""

from __future__ import annotations

import codecs
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chat.llm.errors import LLMError

PENALTY_LAST_N = 64
TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05  # llama-cpp-python's and llama.cpp's defaults


# A prompt longer than this (tokens not already cached) reports how far its reading has come: reading it
# takes seconds on a small CPU (about 180 tokens/s for the 0.5B model on 2 cores).
PROGRESS_FROM = 1024

class ContextFull(LLMError, code="context_length_exceeded"):
    """The conversation is too long for the local model's context. Start a new chat, or ask an admin to
    raise LOCAL_LLM_CONTEXT."""


@dataclass(eq=False)
class Job:
    """One reply to generate. ``emit`` gets text as it is made; ``done`` gets the finish reason ("stop",
    "length", or None when the job was cancelled), the prompt and completion token counts, and an error."""

    prompt: list[int]
    temperature: float
    repeat_penalty: float
    max_tokens: int | None
    stop: list[str]
    emit: Callable[[str], None]
    done: Callable[[str | None, int, int, Exception | None], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    seed: int = 0xFFFFFFFF  # LLAMA_DEFAULT_SEED: a random seed
    # Told (tokens read, tokens to read) after each step that read part of a long prompt.
    progress: Callable[[int, int], None] | None = None


@dataclass(eq=False)
class _Running:
    job: Job
    slot: int
    pending: list[int]  # prompt tokens not read yet
    n_past: int  # tokens of this sequence in the KV cache
    sampler: Any
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    held: str = ""  # text kept back while it may be the start of a stop string
    generated: int = 0
    last: int = -1  # the last sampled token, decoded at the next step
    to_read: int = 0  # the prompt's tokens not already in the cache when it was admitted


class BatchEngine:
    def __init__(self, model: Any, context: Any, *, slots: int, slot_context: int, n_batch: int) -> None:
        import llama_cpp

        self._llama = llama_cpp
        self.model = model  # llama_cpp._internals.LlamaModel
        self.context = context  # llama_cpp._internals.LlamaContext, with n_seq_max >= slots
        self.slots = slots
        self.slot_context = slot_context
        self.n_batch = n_batch
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._cached: list[list[int]] = [[] for _ in range(slots)]  # the tokens each slot holds
        self._running: list[_Running] = []
        self._incoming: deque[Job] = deque()
        self._lock = threading.Lock()
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(model.vocab)

    # --- any thread --------------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        with self._lock:
            self._incoming.append(job)

    @property
    def load(self) -> int:
        """Jobs running or waiting for a slot."""
        with self._lock:
            return len(self._running) + len(self._incoming)

    # --- the model's thread --------------------------------------------------------------------------

    def run(self) -> None:
        """Step until no job is left (returns at once if there is none)."""
        while True:
            with self._lock:
                self._admit()
                if not self._running:
                    return
            try:
                self._step()
            except Exception as error:  # the context is in an unknown state: every job running ends
                failure = (
                    error
                    if isinstance(error, LLMError)
                    else LLMError("The local model failed while answering.", detail=repr(error))
                )
                for running in list(self._running):
                    self._finish(running, None, failure)
                    self._forget(running.slot)

    def _admit(self) -> None:
        busy = {running.slot for running in self._running}
        while self._incoming and len(busy) < self.slots:
            job = self._incoming.popleft()
            if job.cancelled.is_set():
                job.done(None, len(job.prompt), 0, None)
                continue
            if len(job.prompt) >= self.slot_context:
                job.done(None, len(job.prompt), 0, ContextFull(detail=f"{len(job.prompt)} prompt tokens"))
                continue
            shared = {s: _common_prefix(self._cached[s], job.prompt) for s in range(self.slots) if s not in busy}
            slot = max(shared, key=lambda s: (shared[s], -s))
            keep = min(shared[slot], len(job.prompt) - 1)
            memory = self.context.memory
            if not self._llama.llama_memory_seq_rm(memory, slot, keep, -1):
                self._llama.llama_memory_seq_rm(memory, slot, -1, -1)
                keep = 0
            self._cached[slot] = job.prompt[:keep]
            busy.add(slot)
            pending = job.prompt[keep:]
            self._running.append(
                _Running(job, slot, pending=pending, n_past=keep, sampler=self._sampler(job), to_read=len(pending))
            )

    def _sampler(self, job: Job) -> Any:
        llama = self._llama
        chain = llama.llama_sampler_chain_init(llama.llama_sampler_chain_default_params())
        add = llama.llama_sampler_chain_add
        add(chain, llama.llama_sampler_init_penalties(self._n_vocab, PENALTY_LAST_N, job.repeat_penalty, 0.0, 0.0))
        if job.temperature <= 0:
            add(chain, llama.llama_sampler_init_greedy())
        else:
            add(chain, llama.llama_sampler_init_top_k(TOP_K))
            add(chain, llama.llama_sampler_init_top_p(TOP_P, 1))
            add(chain, llama.llama_sampler_init_min_p(MIN_P, 1))
            add(chain, llama.llama_sampler_init_temp(job.temperature))
            add(chain, llama.llama_sampler_init_dist(job.seed))
        for token in job.prompt[-PENALTY_LAST_N:]:  # the prompt's last tokens count for the penalty too
            llama.llama_sampler_accept(chain, token)
        return chain

    def _step(self) -> None:
        batch = self._batch
        batch.n_tokens = 0
        sampling: list[tuple[_Running, int]] = []
        for running in list(self._running):
            if running.job.cancelled.is_set():
                self._finish(running, None)
        # Every generating reply's next token first, then prompt chunks in the room that is left.
        for running in self._running:
            if not running.pending:
                sampling.append((running, self._add(running.slot, running.last, running.n_past, logits=True)))
                self._cached[running.slot].append(running.last)
                running.n_past += 1
        room = self.n_batch - batch.n_tokens
        reading: list[_Running] = []
        for running in self._running:
            if running.pending and room > 0:
                if running.job.progress is not None and running.to_read > PROGRESS_FROM:
                    reading.append(running)
                chunk, running.pending = running.pending[:room], running.pending[room:]
                for n, token in enumerate(chunk):
                    last = n == len(chunk) - 1 and not running.pending
                    index = self._add(running.slot, token, running.n_past + n, logits=last)
                    if last:
                        sampling.append((running, index))
                self._cached[running.slot] += chunk
                running.n_past += len(chunk)
                room -= len(chunk)
        if batch.n_tokens == 0:
            return
        status = self._llama.llama_decode(self.context.ctx, batch)
        if status != 0:
            raise LLMError("The local model could not take another token.", detail=f"llama_decode returned {status}")
        for running in reading:
            assert running.job.progress is not None
            running.job.progress(running.to_read - len(running.pending), running.to_read)
        for running, index in sampling:
            self._sample(running, index)

    def _add(self, slot: int, token: int, position: int, *, logits: bool) -> int:
        batch = self._batch
        i: int = batch.n_tokens
        batch.token[i] = token
        batch.pos[i] = position
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = slot
        batch.logits[i] = logits
        batch.n_tokens = i + 1
        return i

    def _sample(self, running: _Running, index: int) -> None:
        llama, job = self._llama, running.job
        if job.cancelled.is_set():
            self._finish(running, None)
            return
        token = llama.llama_sampler_sample(running.sampler, self.context.ctx, index)
        if llama.llama_vocab_is_eog(self.model.vocab, token):
            self._flush(running)
            self._finish(running, "stop")
            return
        running.generated += 1
        running.last = token
        piece = self.model.token_to_piece(token, special=False).rstrip(b"\x00")
        running.held += running.decoder.decode(piece)
        if self._emit(running):
            self._finish(running, "stop")
        elif job.max_tokens and running.generated >= job.max_tokens or running.n_past + 1 >= self.slot_context:
            self._flush(running)
            self._finish(running, "length")

    def _emit(self, running: _Running) -> bool:
        """Send what is certain not to be part of a stop string; True if a stop string was reached."""
        text, stops = running.held, running.job.stop
        for stop in stops:
            if (at := text.find(stop)) >= 0:
                if at:
                    running.job.emit(text[:at])
                running.held = ""
                return True
        keep = max((n for stop in stops for n in range(min(len(stop) - 1, len(text)), 0, -1)
                    if text.endswith(stop[:n])), default=0)  # fmt: skip
        if len(text) > keep:
            running.job.emit(text[: len(text) - keep])
            running.held = text[len(text) - keep :]
        return False

    def _flush(self, running: _Running) -> None:
        running.held += running.decoder.decode(b"", final=True)
        if running.held:
            running.job.emit(running.held)
            running.held = ""

    def _finish(self, running: _Running, reason: str | None, error: Exception | None = None) -> None:
        self._running.remove(running)
        self._llama.llama_sampler_free(running.sampler)
        job = running.job
        job.done(None if job.cancelled.is_set() else reason, len(job.prompt), running.generated, error)

    def _forget(self, slot: int) -> None:
        self._llama.llama_memory_seq_rm(self.context.memory, slot, -1, -1)
        self._cached[slot] = []


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
