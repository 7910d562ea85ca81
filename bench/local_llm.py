"""The embedded local model: load time, warm time to first token, tokens per second.

    .venv/bin/python bench/local_llm.py [--runs 5]

Runs the default GGUF (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) through the product's LocalProvider, the same
path /api/chat uses, and through llama-cpp-python directly as the reference, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
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


def reference(path: str, runs: int) -> None:
    """llama-cpp-python called directly, alone in this process; prints its figures as JSON."""
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=4096, n_threads=2, n_threads_batch=2, verbose=False)
    row = {"ttft": [], "tps": []}
    for run in range(runs + 1):
        short, long = direct(llm, PROMPT, 64), direct(llm, LONG, 256)
        if run:
            row["ttft"].append(short[0])
            row["tps"].append(rate(long[1], long[0], long[2]))
    print(json.dumps(row))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        return reference(args.reference, args.runs)
    setup_django()

    from chat.turns.upstream import default_local_provider

    provider = default_local_provider()
    path = provider.path
    started = time.perf_counter()
    await provider.aload()
    load = time.perf_counter() - started

    rows = {"product": {"ttft": [], "tps": []}}
    for run in range(args.runs + 1):
        short, long = await product(provider, PROMPT, 64), await product(provider, LONG, 256)
        if run:
            rows["product"]["ttft"].append(short[0])
            rows["product"]["tps"].append(rate(long[1], long[0], long[2]))
    # The reference runs in a process of its own: two llama.cpp contexts in one process keep each other's
    # idle OpenMP workers spinning.
    command = [sys.executable, __file__, "--reference", str(path), "--runs", str(args.runs)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=True)
    rows["llama.cpp direct"] = json.loads(done.stdout.strip().splitlines()[-1])

    print(f"local LLM benchmark: {path.name}, 2 threads, {args.runs} warm runs")
    print(f"  load time (product, cold): {load:.2f} s")
    for name, row in rows.items():
        print(f"  {name:18} warm TTFT median {statistics.median(row['ttft']) * 1000:6.0f} ms   "
              f"tokens/s median {statistics.median(row['tps']):5.1f}")  # fmt: skip
    print("  goals: warm TTFT <= 500 ms, >= 25 tokens/s")


if __name__ == "__main__":
    asyncio.run(main())
