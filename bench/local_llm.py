"""The embedded local model: load time, warm time to first token, tokens per second, and several chats at once.

    .venv/bin/python bench/local_llm.py [--runs 5] [--together-runs 3]

Runs the default GGUF (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) through the product's LocalProvider, the same
path /api/chat uses, and through llama-cpp-python directly as the reference, in the same run.

Then 1, 2 and 4 chats at once: each asks for a paragraph (up to 96 tokens) at the same moment; the figures
are the worst time to first token and the aggregate tokens/s (all tokens / time to the last one). The
reference is llama.cpp's own server (``llama-server --parallel 4``) on the same GGUF and threads, built from
the llama.cpp source inside the llama-cpp-python sdist of the lock (the same version; built once into
var/bench/, about 4 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

from common import ROOT, setup_django

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


TOPICS = ["lighthouses", "the moon", "bread baking", "honey bees", "glaciers", "chess", "volcanoes", "owls"]
TOGETHER_TOKENS = 96
PARALLEL = 4
BENCH_DIR = ROOT / "var" / "bench"


def paragraph(n: int) -> list[dict]:
    topic = TOPICS[n % len(TOPICS)]
    return [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"Write a paragraph of about 80 words about {topic}."}]  # fmt: skip


async def together_product(provider, count: int, run: int) -> tuple[float, float]:
    """``count`` chats at once through the product: (worst TTFT s, aggregate tokens/s)."""
    from chat.llm.base import LLMRequest

    start = time.perf_counter()

    async def one(n: int) -> tuple[float, int, float]:
        first, tokens = None, 0
        request = LLMRequest(messages=paragraph(n + run * count), model="local", temperature=0.2,
                             max_tokens=TOGETHER_TOKENS)  # fmt: skip
        async for chunk in provider.stream(request):
            if chunk.content:
                first = first or time.perf_counter() - start
            if chunk.usage:
                tokens = chunk.usage.completion_tokens or 0
        return first or float("nan"), tokens, time.perf_counter() - start

    results = await asyncio.gather(*(one(n) for n in range(count)))
    return max(r[0] for r in results), sum(r[1] for r in results) / max(r[2] for r in results)


async def together_server(url: str, count: int, run: int) -> tuple[float, float]:
    """The same through llama-server's OpenAI-compatible API."""
    import httpx

    start = time.perf_counter()

    async def one(client: httpx.AsyncClient, n: int) -> tuple[float, int, float]:
        first, tokens = None, 0
        body = {"messages": paragraph(n + run * count), "temperature": 0.2, "repeat_penalty": 1.1, "stream": True,
                "max_tokens": TOGETHER_TOKENS, "stream_options": {"include_usage": True}}  # fmt: skip
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                data = json.loads(line[6:])
                if data.get("choices") and data["choices"][0]["delta"].get("content"):
                    first = first or time.perf_counter() - start
                if data.get("usage"):
                    tokens = data["usage"]["completion_tokens"]
        return first or float("nan"), tokens, time.perf_counter() - start

    async with httpx.AsyncClient(timeout=120) as client:
        results = await asyncio.gather(*(one(client, n) for n in range(count)))
    return max(r[0] for r in results), sum(r[1] for r in results) / max(r[2] for r in results)


def llama_server() -> str:
    """llama-server built from the llama.cpp source in the locked llama-cpp-python sdist (once)."""
    binary = BENCH_DIR / "llama-build" / "bin" / "llama-server"
    if binary.exists():
        return str(binary)
    source = BENCH_DIR / "llama.cpp-src"
    if not source.exists():
        lock = (ROOT / "requirements.txt").read_text()
        version = lock.split("llama-cpp-python==", 1)[1].split()[0]
        print(f"  building llama-server from llama-cpp-python {version}'s sdist (about 4 minutes on 2 cores)…",
              file=sys.stderr)  # fmt: skip
        sdist = BENCH_DIR / "sdist"
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={version}", "-d", str(sdist)], check=True)  # fmt: skip
        archive = next(sdist.glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(sdist, filter="data")
        shutil.move(next(sdist.glob("llama_cpp_python-*/vendor/llama.cpp")), source)
    flags = subprocess.run([str(ROOT / "scripts" / "llama_cmake_args.sh")], capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    build = BENCH_DIR / "llama-build"
    subprocess.run(["cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                    "-DLLAMA_CURL=OFF", *flags], check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cmake", "--build", str(build), "--target", "llama-server", f"-j{os.cpu_count() or 2}"],
                   check=True, capture_output=True)  # fmt: skip
    return str(binary)


async def reference_together(path, threads: int, context: int, counts, runs: int) -> dict[int, list]:
    import httpx

    port = 8791
    binary = await asyncio.to_thread(llama_server)
    command = [binary, "-m", str(path), "-t", str(threads), "-tb", str(threads), "-c", str(context * PARALLEL),
               "--parallel", str(PARALLEL), "--jinja", "--port", str(port), "--no-webui"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(120):
                try:
                    if (await client.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        await together_server(url, 1, 99)  # warm
        return {count: [await together_server(url, count, run) for run in range(runs)] for count in counts}
    finally:
        server.terminate()
        server.wait(10)


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
    parser.add_argument("--together-runs", type=int, default=3)
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

    counts = (1, 2, PARALLEL)
    mine = {count: [await together_product(provider, count, run) for run in range(args.together_runs)]
            for count in counts}  # fmt: skip
    theirs = await reference_together(path, provider.config.threads, provider.config.context, counts,
                                      args.together_runs)  # fmt: skip
    print(
        f"\n  chats at once ({provider.config.threads} threads, {provider.slots} slots; each asks for a paragraph of "
        f"up to {TOGETHER_TOKENS} tokens; medians of {args.together_runs} runs)"
    )
    print(f"  {'':14} {'worst TTFT':>22} {'aggregate tokens/s':>26}")
    print(f"  {'':14} {'product':>10} {'llama-server':>12} {'product':>10} {'llama-server':>12} {'ratio':>6}")
    for count in counts:
        ttft = [statistics.median(r[0] for r in rows[count]) for rows in (mine, theirs)]
        tps = [statistics.median(r[1] for r in rows[count]) for rows in (mine, theirs)]
        print(
            f"  {count} at once {'':5} {ttft[0] * 1000:8.0f} ms {ttft[1] * 1000:9.0f} ms {tps[0]:10.1f} {tps[1]:12.1f} "
            f"{tps[0] / tps[1]:6.2f}"
        )
    alone = statistics.median(r[1] for r in mine[1])
    four = statistics.median(r[1] for r in mine[PARALLEL])
    worst = statistics.median(r[0] for r in mine[PARALLEL])
    print(
        f"  goals at {PARALLEL} at once: worst TTFT <= 1 s ({worst:.2f} s); aggregate >= one chat alone "
        f"({four / alone:.2f}x) and within 10% of llama-server's "
        f"({four / statistics.median(r[1] for r in theirs[PARALLEL]):.2f}x)"
    )
    print(f"  this machine has {os.cpu_count()} cores; LOCAL_LLM_THREADS sets the threads (no cap in the code)")


if __name__ == "__main__":
    asyncio.run(main())
