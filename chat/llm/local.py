"""A GGUF model run in process by llama.cpp (llama-cpp-python): chat offline, with no API key.

The model loads once per process and stays warm. Generation runs on a worker thread, one at a time per
loaded model; each token is handed to the event loop as it is made. A turn that is stopped or whose
client goes away ends generation at the next token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chat.llm.base import LLMChunk, LLMProvider, LLMRequest, ProviderConfig, Usage
from chat.llm.errors import LLMError, ModelUnavailable
from chat.llm.tooltext import ToolTextParser, messages_for_template

logger = logging.getLogger(__name__)

_DONE = object()


class LocalProvider(LLMProvider):
    _instances: dict[Path, LocalProvider] = {}
    _instances_lock = threading.Lock()

    def __init__(self, path: Path, config: ProviderConfig):
        self.path = path
        self.config = config
        self._llm: Any = None
        self._load_lock = threading.Lock()
        # Every load and generation of this model runs on this one thread: llama.cpp's OpenMP workers belong
        # to the calling thread, and a second calling thread leaves the first one's workers spinning (a third
        # slower). One thread is also what makes generations run one at a time, queued in order.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{path.stem[:20]}")
        self._waiting = 0  # turns generating or queued for this model
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
        return self._llm is not None

    def load(self) -> Any:
        """Load the model (once per process); safe to call from several threads."""
        with self._load_lock:
            if self._llm is None:
                try:
                    from llama_cpp import Llama
                except ImportError as error:
                    raise ModelUnavailable(
                        "The local model runtime (llama-cpp-python) is not installed.", detail=str(error)
                    ) from error
                started = time.monotonic()
                try:
                    self._llm = Llama(
                        model_path=str(self.path),
                        n_ctx=self.config.context,
                        n_threads=self.config.threads,
                        n_threads_batch=self.config.threads,
                        verbose=False,
                    )
                except (ValueError, RuntimeError, OSError) as error:
                    raise ModelUnavailable(
                        f"The local model file {self.path.name} could not be loaded; it may be damaged.",
                        detail=repr(error),
                    ) from error
                self.load_seconds = time.monotonic() - started
                logger.info("Loaded %s in %.1f s", self.path.name, self.load_seconds)
            return self._llm

    async def aload(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.load)

    def load_in_background(self) -> Future[Any]:
        """Start loading on the model's own thread; turns queue behind the load."""
        return self._thread.submit(self.load)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        with self._instances_lock:
            queued = self._waiting > 0
            self._waiting += 1
        try:
            if queued:
                yield LLMChunk(status="waiting for the model…")
            loop.run_in_executor(self._thread, self._generate, request, queue, loop, stop)
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()  # A stop or a disconnect ends generation at the next token.
            with self._instances_lock:
                self._waiting -= 1

    def _generate(
        self, request: LLMRequest, queue: asyncio.Queue[Any], loop: asyncio.AbstractEventLoop, stop: threading.Event
    ) -> None:
        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # The loop is gone; nobody is listening any more.
                stop.set()

        try:
            if not stop.is_set():  # stopped while it waited its turn on the model's thread
                self._run(self.load(), request, put, stop)
        except LLMError as error:
            put(error)
        except Exception as error:
            logger.exception("Local generation failed")
            put(LLMError("The local model failed while answering.", detail=repr(error)))
        finally:
            put(_DONE)

    def _run(self, llm: Any, request: LLMRequest, put: Callable[[Any], None], stop: threading.Event) -> None:
        # Tools go through the GGUF's own chat template (Qwen2.5's renders them into the system prompt); the
        # model writes its calls as text, which ``ToolTextParser`` turns back into structured calls.
        offer_tools = bool(request.tools) and request.tool_choice != "none"
        chunks = llm.create_chat_completion(
            messages=messages_for_template(request.messages),
            stream=True,
            temperature=request.temperature if request.temperature is not None else 0.2,
            max_tokens=request.max_tokens or None,
            stop=request.stop or None,
            repeat_penalty=self.config.repeat_penalty,
            tools=request.tools if offer_tools else None,
        )
        names = {tool.get("function", {}).get("name") for tool in request.tools or ()}
        # Tools withdrawn after calls were made: the model may still write a call in their format; it is read
        # as a call (which the turn does not run) rather than shown as the answer.
        names |= {c.get("function", {}).get("name") for m in request.messages for c in m.get("tool_calls") or ()}
        parser = ToolTextParser(names) if offer_tools or names else None
        completion = 0
        finish = None
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                choice = chunk["choices"][0]
                if content := choice["delta"].get("content"):
                    completion += 1
                    if parser is not None:
                        content = parser.feed(content)
                    if content:
                        put(LLMChunk(content=content))
                finish = choice.get("finish_reason") or finish
        finally:
            chunks.close()
        if stop.is_set():
            return
        if parser is not None:
            if rest := parser.close():
                put(LLMChunk(content=rest))
            if parser.calls:
                put(LLMChunk(tool_calls=parser.calls))
                finish = "tool_calls"
        # The context now holds the prompt and the reply, less the last token, which is never evaluated.
        prompt = max(llm.n_tokens - completion + 1, 0) if completion else llm.n_tokens
        put(LLMChunk(finish_reason=finish or "stop", usage=Usage(prompt, completion)))
