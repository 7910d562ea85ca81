"""What a tool is: a name, a description and a JSON schema the model sees, a line a person reads while it
runs, and an async function that returns text for the model or raises ``ToolError`` with a reason."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema


class ToolError(Exception):
    """A call that could not be done. The message goes to the model, which can correct itself, and to the UI."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a call runs for: tools that read data (search) see only this user's."""

    user_id: int | None
    chat_id: str


Runner = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    label: str  # "Calculating…": what the person sees while it runs
    run: Runner = field(compare=False)
    source: str = "built-in"  # or the MCP server's name

    def as_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def parse_arguments(self, text: str) -> dict[str, Any]:
        """The call's arguments, checked against the tool's schema; ``ToolError`` says what is wrong."""
        try:
            arguments = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise ToolError(f"The arguments are not valid JSON ({error.msg}); send a JSON object.") from None
        if not isinstance(arguments, dict):
            raise ToolError("The arguments must be a JSON object.")
        problem = jsonschema.validators.validator_for(self.parameters)(self.parameters).iter_errors(arguments)
        if (first := next(problem, None)) is not None:
            where = ".".join(str(part) for part in first.absolute_path)
            raise ToolError(f"Invalid arguments{f' ({where})' if where else ''}: {first.message}.")
        return arguments


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
