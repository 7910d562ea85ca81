"""The embedded local model: load time, warm time to first token, tokens per second.

    .venv/bin/python bench/local_llm.py [--runs 5]

Runs the default GGUF (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) through the product's LocalProvider, the same
path /api/chat uses, and through llama-cpp-python directly as the reference, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from common import setup_django

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France? Answer in one sentence."},
]
LONG = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a Python function that checks whether a string is a palindrome, "
                                "with a docstring and three example calls."},
]  # fmt: skip


def direct(llm, messages, max_tokens):
    start = time.perf_counter()
    first, count = None, 0
    for chunk in llm.create_chat_completion(messages=messages, stream=True, temperature=0.2, repeat_penalty=1.1,
                                            max_tokens=max_tokens):  # fmt: skip
        if chunk["choices"][0]["delta"].get("content"):
            count += 1
            first = first or time.perf_counter() - start
    total = time.perf_counter() - start
    return first, count, total


async def product(provider, messages, max_tokens):
    from chat.llm.base import LLMRequest

    start = time.perf_counter()
    first, count = None, 0
    async for chunk in provider.stream(LLMRequest(messages=messages, model="local", temperature=0.2,
                                                  max_tokens=max_tokens)):  # fmt: skip
        if chunk.content:
            count += 1
            first = first or time.perf_counter() - start
    return first, count, time.perf_counter() - start


def rate(count, first, total):
    return (count - 1) / (total - first) if count > 1 and total > first else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from llama_cpp import Llama

    from chat.llm.local import LocalProvider
    from chat.llm.weights import resolve_gguf

    path = resolve_gguf()
    provider = LocalProvider.for_path(path)
    started = time.perf_counter()
    await provider.aload()
    load = time.perf_counter() - started
    reference = Llama(model_path=str(path), n_ctx=4096, n_threads=2, n_threads_batch=2, verbose=False)

    rows = {"product": {"ttft": [], "tps": []}, "llama.cpp direct": {"ttft": [], "tps": []}}
    for run in range(args.runs + 1):
        p_short = await product(provider, PROMPT, 64)
        d_short = direct(reference, PROMPT, 64)
        p_long = await product(provider, LONG, 256)
        d_long = direct(reference, LONG, 256)
        if run == 0:
            continue  # warm-up
        rows["product"]["ttft"].append(p_short[0])
        rows["llama.cpp direct"]["ttft"].append(d_short[0])
        rows["product"]["tps"].append(rate(p_long[1], p_long[0], p_long[2]))
        rows["llama.cpp direct"]["tps"].append(rate(d_long[1], d_long[0], d_long[2]))

    print(f"local LLM benchmark: {path.name}, 2 threads, {args.runs} warm runs")
    print(f"  load time (product, cold): {load:.2f} s")
    for name, row in rows.items():
        print(f"  {name:18} warm TTFT median {statistics.median(row['ttft']) * 1000:6.0f} ms   "
              f"tokens/s median {statistics.median(row['tps']):5.1f}")  # fmt: skip
    print("  goals: warm TTFT <= 500 ms, >= 25 tokens/s")


if __name__ == "__main__":
    asyncio.run(main())
