"""A GGUF model run in process by llama.cpp (llama-cpp-python): chat offline, with no API key.

The model loads once per process and stays warm. Its replies are generated together: up to ``parallel``
of them advance in the same decode (``chat.llm.batch``), so several people are answered at once rather than
one after another; more than that wait for a slot (their turn says so). Each token is handed to the event
loop as it is made. A turn that is stopped or whose client goes away leaves the batch at the next step.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat.llm.base import LLMChunk, LLMProvider, LLMRequest, ProviderConfig, Usage
from chat.llm.batch import BatchEngine, Job
from chat.llm.errors import LLMError, ModelUnavailable
from chat.llm.tooltext import ToolTextParser, messages_for_template

logger = logging.getLogger(__name__)

_DONE = object()
N_BATCH = 512  # tokens per decode: prompt chunks share it with the replies being generated



@dataclass(frozen=True, slots=True)
class _Reading:
    """How far the model has read a long prompt (``Job.progress``), for the person waiting."""

    read: int
    total: int

class LocalProvider(LLMProvider):
    _instances: dict[Path, LocalProvider] = {}
    _instances_lock = threading.Lock()

    def __init__(self, path: Path, config: ProviderConfig):
        self.path = path
        self.config = config
        self._engine: BatchEngine | None = None
        self._model: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        # Every load and decode of this model runs on this one thread: llama.cpp's OpenMP workers belong to
        # the calling thread, and a second calling thread leaves the first one's workers spinning (a third
        # slower). The batch loop runs there while any reply is being generated.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{path.stem[:20]}")
        self._looping = False
        self._loop_lock = threading.Lock()
        self.load_seconds: float | None = None

    @classmethod
    def shared(cls, config: ProviderConfig) -> LocalProvider:
        """One instance per model file: the weights load once, whatever else differs between configs."""
        if config.model_path is None:
            raise ModelUnavailable("No model file is configured for this local model.")
        with cls._instances_lock:
            if config.model_path not in cls._instances:
                cls._instances[config.model_path] = cls(config.model_path, config)
            return cls._instances[config.model_path]

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    @property
    def slots(self) -> int:
        return max(self.config.parallel, 1)

    def load(self) -> BatchEngine:
        """Load the model (once per process); safe to call from several threads."""
        with self._load_lock:
            if self._engine is None:
                started = time.monotonic()
                self._engine = self._open()
                self.load_seconds = time.monotonic() - started
                logger.info("Loaded %s in %.1f s (%d slots of %d tokens)", self.path.name, self.load_seconds,
                            self.slots, self.config.context)  # fmt: skip
            return self._engine

    def _open(self) -> BatchEngine:
        try:
            import llama_cpp
            from llama_cpp import Llama  # noqa: F401 - sets up llama.cpp's logging and backend
            from llama_cpp._internals import LlamaContext, LlamaModel
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as error:
            raise ModelUnavailable(
                "The local model runtime (llama-cpp-python) is not installed.", detail=str(error)
            ) from error
        from llama_cpp._logger import set_verbose

        set_verbose(False)
        llama_cpp.llama_backend_init()
        try:
            if not self.path.is_file():
                raise ValueError(f"no such file: {self.path}")
            model = LlamaModel(path_model=str(self.path), params=llama_cpp.llama_model_default_params(),
                               verbose=False)  # fmt: skip
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = self.config.context * self.slots
            params.n_batch = params.n_ubatch = N_BATCH
            params.n_seq_max = self.slots
            params.kv_unified = True  # one cache for all slots: a slot may hold up to ``context`` tokens
            params.n_threads = params.n_threads_batch = self.config.threads
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
            context = LlamaContext(model=model, params=params, verbose=False)
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelUnavailable(
                f"The local model file {self.path.name} could not be loaded; it may be damaged.",
                detail=repr(error),
            ) from error
        template = model.metadata().get("tokenizer.chat_template")
        if not template:
            raise ModelUnavailable(f"The local model file {self.path.name} has no chat template.")
        eos, bos = model.token_eos(), model.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )
        self._model = model
        return BatchEngine(model, context, slots=self.slots, slot_context=self.config.context, n_batch=N_BATCH)

    async def aload(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.load)

    def load_in_background(self) -> Future[Any]:
        """Start loading on the model's own thread; turns queue behind the load."""
        return self._thread.submit(self.load)

    @property
    def busy(self) -> bool:
        """Whether every slot is taken (a new reply would wait)."""
        return self._engine is not None and self._engine.load >= self.slots

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        job: Job | None = None
        try:
            if self.busy:
                yield LLMChunk(status="waiting for the model…")
            engine = await loop.run_in_executor(self._thread, self.load) if self._engine is None else self._engine
            job, parser = self._job(request, queue, loop)
            engine.submit(job)
            self._kick()
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                if isinstance(item, _Reading):
                    note = f"reading your message… {100 * item.read // item.total}%"
                    yield LLMChunk(status=note, status_state="reading")
                    continue
                if isinstance(item, str):
                    if parser is not None:
                        item = parser.feed(item)
                        if parser.stopped:  # its calls are written: what it would write on is never shown
                            job.cancelled.set()
                    if item:
                        yield LLMChunk(content=item)
                    continue
                finish, usage = item
                if parser is not None:
                    if rest := parser.close():
                        yield LLMChunk(content=rest)
                    if parser.calls and parser.offered:
                        yield LLMChunk(tool_calls=parser.calls)
                        finish = "tool_calls"
                yield LLMChunk(finish_reason=finish or "stop", usage=usage)
        finally:
            if job is not None:
                job.cancelled.set()  # A stop or a disconnect takes the reply out of the batch at the next step.

    def _job(self, request: LLMRequest, queue: asyncio.Queue[Any],
             loop: asyncio.AbstractEventLoop) -> tuple[Job, ToolTextParser | None]:  # fmt: skip
        # Tools go through the GGUF's own chat template (Qwen2.5's renders them into the system prompt); the
        # model writes its calls as text, which ``ToolTextParser`` turns back into structured calls.
        offer_tools = bool(request.tools) and request.tool_choice != "none"
        messages, prefill = request.messages, ""
        if messages and messages[-1]["role"] == "assistant" and not messages[-1].get("tool_calls"):
            # A reply being continued: the prompt ends inside it, and the model goes on from its text.
            messages, prefill = messages[:-1], messages[-1].get("content") or ""
        try:
            formatted = self._formatter(
                messages=messages_for_template(messages), tools=request.tools if offer_tools else None
            )
        except Exception as error:
            raise LLMError("The local model's chat template could not render this conversation.",
                           detail=repr(error)) from error  # fmt: skip
        prompt = self._model.tokenize((formatted.prompt + prefill).encode("utf-8"),
                                      add_bos=not formatted.added_special, special=True)  # fmt: skip
        names = {tool.get("function", {}).get("name") for tool in request.tools or ()}
        # Tools withdrawn after calls were made (the turn's last round, or tool_choice "none"): the model may
        # still write a call in their format. It is not shown, nor run, and the reply ends there.
        names |= {c.get("function", {}).get("name") for m in request.messages for c in m.get("tool_calls") or ()}
        parser = ToolTextParser(names, offered=offer_tools) if offer_tools or names else None

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # The loop is gone; nobody is listening any more.
                job.cancelled.set()

        def done(finish: str | None, prompt_tokens: int, completion: int, error: Exception | None) -> None:
            # finish is None when the job was cancelled: by a stop (nobody reads on) or by the parser (read on).
            put(error if error is not None else (finish, Usage(prompt_tokens, completion)))
            put(_DONE)

        job = Job(
            prompt=prompt,
            temperature=request.temperature if request.temperature is not None else 0.2,
            repeat_penalty=self.config.repeat_penalty,
            max_tokens=request.max_tokens or None,
            stop=[stop for stop in [*(request.stop or ()), *formatted.stop] if stop],
            emit=put,
            done=done,
            progress=lambda read, total: put(_Reading(read, total)),
        )
        return job, parser

    def _kick(self) -> None:
        """Run the batch loop on the model's thread, unless it is running already."""
        with self._loop_lock:
            if self._looping:
                return
            self._looping = True
        self._thread.submit(self._loop)

    def _loop(self) -> None:
        engine = self._engine
        assert engine is not None
        while True:
            try:
                engine.run()
            except Exception:  # pragma: no cover - run() ends every job itself on errors
                logger.exception("The local model's batch loop failed")
            with self._loop_lock:
                if engine.load == 0:
                    self._looping = False
                    return
