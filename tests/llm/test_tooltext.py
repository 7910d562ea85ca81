"""Tool calls written as text by local models, parsed into the same structure as OpenAI's ``tool_calls``."""

from __future__ import annotations

import json

import pytest

from chat.llm.tooltext import ToolTextParser

NAMES = {"calculator", "current_time"}


def parse(text: str, piece: int = 3) -> tuple[str, list[tuple[str, dict]]]:
    parser = ToolTextParser(NAMES)
    out = "".join(parser.feed(text[i : i + piece]) for i in range(0, len(text), piece)) + parser.close()
    return out, [(c.name, json.loads(c.arguments) if c.name else c.arguments) for c in parser.calls]


@pytest.mark.parametrize("piece", [1, 3, 50])
def test_tagged_calls_between_text(piece):
    text = (
        'Sure. <tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>\n'
        '<tool_call>{"name": "current_time", "arguments": {}}</tool_call> a < b <tool'
    )
    out, calls = parse(text, piece)
    assert out == "Sure. \n a < b <tool"
    assert calls == [("calculator", {"expression": "2+2"}), ("current_time", {})]


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}',
        '```json\n{\n  "name": "calculator",\n  "arguments": {\n    "expression": "4817 * 2963"\n  }\n}\n```',
        '  \n```\n{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}\n```',
    ],
)
def test_a_bare_call_of_an_offered_tool(text):
    assert parse(text) == ("", [("calculator", {"expression": "4817 * 2963"})])


def test_json_lines_with_calls_and_an_answer():
    text = (
        '{"name": "current_time", "arguments": {"timezone": "Asia/Tokyo"}}\n'
        '{"name": "response", "arguments": {"text": "It is 3 am in Tokyo."}}'
    )
    assert parse(text) == ("It is 3 am in Tokyo.", [("current_time", {"timezone": "Asia/Tokyo"})])
    assert parse('{"response": "248"}') == ("248", [])


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "not_offered", "arguments": {}}',
        '{"key": "value"}',
        "```python\nprint('hi')\n```",
        "```json\n[1, 2, 3]\n```",
        "Hello there, {name}!",
        "{ this is not json",
    ],
)
def test_text_that_only_looks_like_a_call_stays_text(text):
    assert parse(text) == (text, [])


def test_a_broken_tagged_call_is_still_a_call_so_the_model_hears_why():
    parser = ToolTextParser(NAMES)
    out = parser.feed('<tool_call>{"name": "calculator", "arguments": {"expr') + parser.close()
    assert out == "" and len(parser.calls) == 1 and parser.calls[0].name == ""
