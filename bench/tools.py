"""How well the bundled local model uses tools, and what offering them costs.

    .venv/bin/python bench/tools.py

The default GGUF (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) through the product's LocalProvider, with the built-in
tools a chat model offers (calculator, current_time, search_conversations, ask_user) rendered by the GGUF's
own chat template, and its ``<tool_call>`` text parsed as the product parses it. For each of 24 prompts that
need a tool it checks that the model called the right one with valid arguments; for each of 12 that need none,
that it called nothing. The cost of offering tools is the first-token time of the same plain prompts with
and without them, measured in the same run (ratio).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from common import setup_django

SYSTEM = "You are a helpful assistant. Answer clearly and concisely."

# (prompt, the tool it needs, a check of the arguments)
NEEDS_TOOL = [
    ("What is 4817 times 2963?", "calculator", lambda a: "4817" in a["expression"] and "2963" in a["expression"]),
    ("Compute 17.5% of 2480.", "calculator", lambda a: "2480" in a["expression"]),
    ("What is 2 to the power of 40?", "calculator", lambda a: "40" in a["expression"]),
    ("Calculate (123 + 456) * 789.", "calculator", lambda a: "789" in a["expression"]),
    ("How much is 98765 divided by 321?", "calculator", lambda a: "98765" in a["expression"]),
    ("What's 3.75 * 12.4 - 8?", "calculator", lambda a: "3.75" in a["expression"]),
    ("Use the calculator: 1234567 + 7654321", "calculator", lambda a: "1234567" in a["expression"]),
    ("If I buy 7 items at 19.99 each, what is the total?", "calculator", lambda a: "19.99" in a["expression"]),
    ("What is the square of 1089?", "calculator", lambda a: "1089" in a["expression"]),
    ("Calculate 15 percent tip on a 86.40 bill.", "calculator", lambda a: "86.4" in a["expression"]),
    ("What time is it now?", "current_time", lambda a: True),
    ("What is today's date?", "current_time", lambda a: True),
    ("What time is it in Tokyo right now?", "current_time", lambda a: "Tokyo" in a.get("timezone", "")),
    ("Tell me the current time in Europe/Paris.", "current_time", lambda a: "Paris" in a.get("timezone", "")),
    ("Which day of the week is it today?", "current_time", lambda a: True),
    ("Search my past conversations for 'aquarium'.", "search_conversations",
     lambda a: "aquarium" in a["query"].lower()),
    ("What did I say about my trip to Lisbon in an earlier chat? Look it up.", "search_conversations",
     lambda a: "lisbon" in a["query"].lower()),
    ("Find my earlier messages about the budget spreadsheet.", "search_conversations",
     lambda a: "budget" in a["query"].lower()),
    ("Look through my old chats for the word 'zeppelin'.", "search_conversations",
     lambda a: "zeppelin" in a["query"].lower()),
    ("Did we talk about Kubernetes before? Search my conversations.", "search_conversations",
     lambda a: "kubernetes" in a["query"].lower()),
    ("Book me a table for dinner.", "ask_user", lambda a: bool(a.get("question"))),
    ("Convert the file for me.", "ask_user", lambda a: bool(a.get("question"))),
    ("I want to travel next month, plan it.", "ask_user", lambda a: bool(a.get("question"))),
    ("Send it to my colleague.", "ask_user", lambda a: bool(a.get("question"))),
]  # fmt: skip
NO_TOOL = [
    "Hello! How are you?",
    "What is the capital of France?",
    "Write a haiku about autumn.",
    "Explain what a Python list comprehension is.",
    "Who wrote Romeo and Juliet?",
    "Give me three tips for better sleep.",
    "Translate 'good morning' into Spanish.",
    "What does HTTP stand for?",
    "Write a Python function that reverses a string.",
    "Thank you, that was helpful!",
    "What is the difference between a list and a tuple in Python?",
    "Summarise the plot of Cinderella in two sentences.",
]


async def run(provider, tools, prompt, max_tokens=96):
    from chat.llm.base import LLMRequest

    request = LLMRequest(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        model="local", temperature=0.2, max_tokens=max_tokens, tools=tools,
    )  # fmt: skip
    started, first, calls, text = time.perf_counter(), None, [], ""
    async for chunk in provider.stream(request):
        if (chunk.content or chunk.tool_calls) and first is None:
            first = time.perf_counter() - started
        text += chunk.content
        calls += chunk.tool_calls or []
    return calls, text, first or time.perf_counter() - started


def valid(tool, call, check) -> bool:
    try:
        arguments = json.loads(call.arguments or "{}")
        tool.parse_arguments(call.arguments)
        return bool(check(arguments))
    except Exception:
        return False


async def main() -> None:
    setup_django()
    from chat.tools.builtin import BUILTIN, DEFAULT_TOOLS
    from chat.turns.upstream import default_local_provider

    provider = default_local_provider()
    await provider.aload()
    offered = [BUILTIN[name] for name in DEFAULT_TOOLS]
    tools = [tool.as_openai() for tool in offered]
    await run(provider, tools, "warm up", 4)

    right = valid_args = 0
    rows = []
    for prompt, name, check in NEEDS_TOOL:
        calls, text, _ = await run(provider, tools, prompt)
        called = calls[0].name if calls else ""
        ok_tool = called == name
        ok_args = ok_tool and valid(BUILTIN[name], calls[0], check)
        right += ok_tool
        valid_args += ok_args
        rows.append(("tool", prompt, name, called or "(none)", "ok" if ok_args else ("args" if ok_tool else "miss")))
    unneeded = 0
    for prompt in NO_TOOL:
        calls, text, _ = await run(provider, tools, prompt)
        unneeded += bool(calls)
        rows.append(("none", prompt, "-", calls[0].name if calls else "(none)", "extra" if calls else "ok"))

    # The cost of the tools' descriptions in the prompt: first-token time of plain prompts without tools, with
    # them while llama.cpp still holds the same system prompt and tools from the previous request (every chat
    # of a model shares that prefix), and with them when it does not (the first request after another prompt).
    without, warm, cold = [], [], []
    for prompt in NO_TOOL[:8]:
        without.append((await run(provider, None, prompt, 1))[2])
    for prompt in NO_TOOL[:8]:
        warm.append((await run(provider, tools, prompt, 1))[2])
    for prompt in NO_TOOL[:4]:
        await run(provider, None, prompt, 1)
        cold.append((await run(provider, tools, prompt, 1))[2])

    print(f"tools benchmark: {provider.path.name}, {len(NEEDS_TOOL)} prompts that need a tool, {len(NO_TOOL)} "
          "that do not")  # fmt: skip
    for kind, prompt, expected, called, verdict in rows:
        print(f"  {verdict:5} {kind:4} expected {expected:21} called {called:21} {prompt[:60]}")
    print()
    print(f"  right tool:                 {right}/{len(NEEDS_TOOL)} ({right / len(NEEDS_TOOL):.0%})")
    print(f"  right tool, valid arguments:{valid_args:3}/{len(NEEDS_TOOL)} ({valid_args / len(NEEDS_TOOL):.0%})")
    print(f"  a tool called when none was needed: {unneeded}/{len(NO_TOOL)} ({unneeded / len(NO_TOOL):.0%})")
    base, hot, miss = (statistics.median(values) for values in (without, warm, cold))
    print(f"  first token, plain prompts: {base * 1000:.0f} ms without tools; with the 4 tools offered "
          f"{hot * 1000:.0f} ms when the previous request shared them (ratio {hot / base:.2f}), "
          f"{miss * 1000:.0f} ms when it did not (ratio {miss / base:.2f})")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
