"""The tool phase of a turn: which tools the model is offered, and running the calls it makes.

``toolset_for`` gathers a chat model's tools (the built-in ones an admin enabled, and those of its MCP
servers). ``run_calls`` runs one round of calls in order, each within ``TOOLS_TIMEOUT`` and with its
output capped at ``TOOLS_MAX_OUTPUT_BYTES`` for the model, and yields the events a person sees. A call that
fails, for whatever reason (broken arguments, an unknown tool, a server that is down or hangs), becomes a
``tool_result`` with ``ok: false`` and a message the model can act on; the turn goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from chat.llm.base import ToolCall
from chat.tools.base import Tool, ToolContext, ToolError
from chat.tools.builtin import ASK_USER, BUILTIN
from chat.tools.mcp import McpServerConfig, connection_for
from chat.turns.events import ClarificationNeeded, Event, ExecutionProgress, ToolResult, ToolStart

logger = logging.getLogger(__name__)

DISPLAY_CHARS = 2000  # of a result, in ``tool_result`` events
_NAME = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(slots=True)
class Toolset:
    tools: dict[str, Tool] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tools)

    def as_openai(self) -> list[dict[str, Any]]:
        return [tool.as_openai() for tool in self.tools.values()]


def _mcp_tool(config: McpServerConfig, name: str, description: str, schema: dict[str, Any], exposed: str) -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> str:
        return await connection_for(config).call(name, arguments)

    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {}}
    return Tool(exposed, description or name, schema, f"Using {config.name}…", run, source=config.name)


async def toolset_for(builtin: list[str], servers: list[McpServerConfig]) -> Toolset:
    """A chat model's tools: its enabled built-in ones, then each MCP server's (a name already taken is
    prefixed with the server's name)."""
    toolset = Toolset({name: BUILTIN[name] for name in builtin if name in BUILTIN})
    listings = await asyncio.gather(*(connection_for(config).tools() for config in servers))
    for config, listing in zip(servers, listings, strict=True):
        for tool in listing:
            exposed = _NAME.sub("_", tool.name)[:64]
            if exposed in toolset.tools:
                exposed = _NAME.sub("_", f"{config.name}__{tool.name}")[:64]
            toolset.tools[exposed] = _mcp_tool(config, tool.name, tool.description, tool.input_schema, exposed)
    return toolset


def cap_output(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8 for the model, saying how much was cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    kept = data[:limit].decode(errors="ignore")
    return f"{kept}\n[truncated: {len(data) - len(kept.encode()):,} more bytes]"


def _display_arguments(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        return call.arguments


@dataclass(slots=True)
class ToolRound:
    """What running the tools of a turn has produced so far."""

    records: list[dict[str, Any]] = field(default_factory=list)  # stored with the reply
    messages: list[dict[str, Any]] = field(default_factory=list)  # the ``role: "tool"`` results of a round
    clarification: ClarificationNeeded | None = None
    calls_total: int = 0
    calls_done: int = 0


async def run_calls(
    calls: list[ToolCall], toolset: Toolset, context: ToolContext, state: ToolRound, step: int
) -> AsyncIterator[Event]:
    """Run one round of calls, in order; ``state`` gathers their records and results as they finish."""
    state.messages = []
    state.calls_total += len([call for call in calls if call.name != ASK_USER])
    for call in calls:
        tool = toolset.tools.get(call.name)
        record: dict[str, Any] = {
            "id": call.id,
            "name": call.name,
            "arguments": _display_arguments(call),
            "argumentsText": call.arguments,
            "label": tool.label if tool else "",
            "step": step,
            "source": tool.source if tool else "",
            "ok": False,
            "content": "",
            "durationMs": 0,
        }
        state.records.append(record)
        if call.name == ASK_USER and tool is not None:
            clarification = _clarification(call, tool)
            if clarification is not None:
                record.update(ok=True, content="The question was shown to the person.")
                state.messages.append({"role": "tool", "tool_call_id": call.id, "content": record["content"]})
                state.clarification = clarification
                yield clarification
                return
        yield ToolStart(call.id, call.name, record["arguments"], tool.label if tool else f"Calling {call.name}…")
        started = time.monotonic()
        record["content"] = "The call was stopped before it finished."  # what stays if the turn is stopped
        ok, content = await _run_one(call, tool, toolset, context)
        content = cap_output(content, settings.TOOLS_MAX_OUTPUT_BYTES)
        record.update(ok=ok, content=content, durationMs=int((time.monotonic() - started) * 1000))
        state.messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": content if ok else f"Error: {content}"}
        )
        state.calls_done += 1
        yield ToolResult(call.id, call.name, ok, content[:DISPLAY_CHARS], record["durationMs"])
        if state.calls_total > 1:
            yield ExecutionProgress(state.calls_done, state.calls_total)


def _clarification(call: ToolCall, tool: Tool) -> ClarificationNeeded | None:
    try:
        arguments = tool.parse_arguments(call.arguments)
    except ToolError:
        return None  # run as a failed call below, so the model sees why
    options = [str(option)[:200] for option in arguments.get("options") or [] if str(option).strip()]
    return ClarificationNeeded(str(arguments["question"]).strip(), options)


async def _run_one(call: ToolCall, tool: Tool | None, toolset: Toolset, context: ToolContext) -> tuple[bool, str]:
    if tool is None:
        names = ", ".join(toolset.tools) or "none"
        return False, f"There is no tool named '{call.name}'. The tools are: {names}."
    try:
        arguments = tool.parse_arguments(call.arguments)
        async with asyncio.timeout(settings.TOOLS_TIMEOUT):
            return True, await tool.run(arguments, context)
    except ToolError as error:
        return False, str(error)
    except TimeoutError:
        return False, f"The tool took longer than {settings.TOOLS_TIMEOUT:g} seconds and was stopped."
    except Exception:
        logger.exception("Tool %s failed", call.name)
        return False, "The tool failed unexpectedly."
