"""Tool calls written as text by local models, parsed into the same structure as OpenAI's ``tool_calls``.

The replies quoted below are what the bundled Qwen2.5-Coder-0.5B wrote with tools on (issue #27, item 14).
"""

from __future__ import annotations

import json

import pytest

from chat.llm.tooltext import BLOCK_LIMIT, MAX_CALLS, ToolTextParser

NAMES = {"calculator", "current_time", "search_conversations", "ask_user"}


def parse(text: str, piece: int = 3, *, offered: bool = True) -> tuple[str, list[tuple[str, object]]]:
    parser = ToolTextParser(NAMES, offered=offered)
    out = "".join(parser.feed(text[i : i + piece]) for i in range(0, len(text), piece)) + parser.close()
    return out, [(c.name, _arguments(c.arguments)) for c in parser.calls]


def _arguments(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text  # broken: kept as written, for the tool to say what is wrong


@pytest.mark.parametrize("piece", [1, 3, 50])
def test_tagged_calls_end_the_reply(piece):
    text = (
        'Sure. <tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>\n'
        '<tool_call>{"name": "current_time", "arguments": {}}</tool_call> It is 4, at noon.'
    )
    # Text after the calls was written before their results: it is not shown.
    assert parse(text, piece) == ("Sure. ", [("calculator", {"expression": "2+2"}), ("current_time", {})])


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}',
        '```json\n{\n  "name": "calculator",\n  "arguments": {\n    "expression": "4817 * 2963"\n  }\n}\n```',
        '  \n```\n{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}\n```',
        '[{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}]',
        '>{"name": "calculator", "arguments": {"expression": "4817 * 2963"}}\n</tool_call>',
        json.dumps(
            {"type": "function", "function": {"name": "calculator", "arguments": '{"expression": "4817 * 2963"}'}}
        ),
        "{'name': 'calculator', 'arguments': {'expression': '4817 * 2963'}}",
    ],
)
@pytest.mark.parametrize("piece", [1, 3, 50])
def test_a_bare_call_in_the_shapes_small_models_write(text, piece):
    assert parse(text, piece) == ("", [("calculator", {"expression": "4817 * 2963"})])


# (what the model wrote, text shown, calls read with tools offered)
WRITTEN = [
    (  # "What is 1234*5678?", its first round
        '```json\n{\n  "name": "calculator",\n  "arguments": {\n    "expression": "1234 * 5678"\n  }\n}\n```',
        "",
        [("calculator", {"expression": "1234 * 5678"})],
    ),
    (  # its second: a call and an answer written before the call's result; it answers once it has it
        '{"name": "calculator", "arguments": {"expression": "7006652"}}\n{"response": "7006652"}',
        "",
        [("calculator", {"expression": "7006652"})],
    ),
    (  # its third: the answer, then the call again, which was shown as the answer
        '7006652\n{"name": "calculator", "arguments": {"expression": "7006652"}}\n',
        "7006652\n",
        [("calculator", {"expression": "7006652"})],
    ),
    (  # a stray '>' before the object
        '>{"name": "calculator", "arguments": {"expression": "20 - 8"}}\n',
        "",
        [("calculator", {"expression": "20 - 8"})],
    ),
    (  # "Search my chats for France": a call, then the error it expects back, in the call's format
        '{"name": "search_conversations", "arguments": {"query": "France", "date": "2026-12-02", "user": ""}}\n'
        "{\"error\": \"Invalid arguments: Additional properties are not allowed ('date', 'user' were unexpected).\"}",
        "",
        [("search_conversations", {"query": "France", "date": "2026-12-02", "user": ""})],
    ),
    (  # a tool that does not exist is a call still: its failed result tells the model so
        '{"name": "search_conversations", "arguments": {"query": "France, 2026-12-02, user"}}\n'
        '{"name": "no_messages_match", "arguments": {}}\n'
        '{"name": "no_messages_match", "arguments": {"message": "No messages match."}}',
        "",
        [
            ("search_conversations", {"query": "France, 2026-12-02, user"}),
            ("no_messages_match", {}),
            ("no_messages_match", {"message": "No messages match."}),
        ],
    ),
    (  # the last brace left out: the call is whole otherwise
        '{"name": "search_conversations", "arguments": {"query": "France"}',
        "",
        [("search_conversations", {"query": "France"})],
    ),
    (  # cut off inside its arguments: never completed (a call on half an expression would be wrong)
        '{"name": "calculator", "arguments": {"expression": "1234 * 56',
        "",
        [("calculator", '{"expression": "1234 * 56')],
    ),
    (  # not JSON (an expression left unquoted): a call of what it names, whose arguments the tool refuses
        '{"name": "calculator", "arguments": {"expression": 1234*5678}}',
        "",
        [("calculator", '{"expression": 1234*5678}}')],
    ),
    (
        'The answer is 7006652. {"name": "calculator", "arguments": {"expression": "1234*5678"}}',
        "The answer is 7006652. ",
        [("calculator", {"expression": "1234*5678"})],
    ),
]


@pytest.mark.parametrize(("written", "shown", "calls"), WRITTEN)
@pytest.mark.parametrize("piece", [1, 4, 50])
def test_what_the_bundled_model_wrote(written, shown, calls, piece):
    assert parse(written, piece) == (shown, calls)


@pytest.mark.parametrize(("written", "shown", "calls"), WRITTEN)
def test_with_tools_withdrawn_calls_are_neither_shown_nor_read_on(written, shown, calls):
    parser = ToolTextParser(NAMES, offered=False)
    out = "".join(parser.feed(written[i : i + 4]) for i in range(0, len(written), 4)) + parser.close()
    assert out == shown
    assert parser.stopped and [c.name for c in parser.calls] == [calls[0][0]]  # ended at its first call


# The second round of "Search my chats for France", as it streamed: the same three calls over and over until
# max_tokens (1,024 tokens, 56 s on 2 cores), cut off in the middle of a call, then shown whole as the answer.
LOOP = (
    '{"name": "search_conversations", "arguments": {"query": "France, 2026-12-02, user"}}\n'
    '{"name": "current_time", "arguments": {"timezone": "UTC"}}\n'
    '{"name": "ask_user", "arguments": {"question": "What is the date and time of your last conversation with '
    'France?"}}\n'
)


def test_a_model_that_repeats_its_calls_is_stopped_at_the_first_repeat():
    parser = ToolTextParser(NAMES)
    written, shown, fed = LOOP * 13 + '{"name', [], 0
    while not parser.stopped and fed < len(written):
        shown.append(parser.feed(written[fed : fed + 4]))
        fed += 4
    shown.append(parser.close())
    assert "".join(shown) == ""
    assert [c.name for c in parser.calls] == ["search_conversations", "current_time", "ask_user"]
    # Told to stop as the first repeat came (the fourth line), not 1,000 tokens later.
    assert fed <= len(LOOP) + LOOP.index("\n") + 4


def test_a_model_that_keeps_calling_new_things_is_stopped_after_max_calls():
    parser = ToolTextParser(NAMES)
    lines = [f'{{"name": "calculator", "arguments": {{"expression": "{n} + 1"}}}}\n' for n in range(3 * MAX_CALLS)]
    fed = 0
    for line in lines:
        if parser.stopped:
            break
        assert parser.feed(line) == ""
        fed += 1
    assert parser.close() == "" and len(parser.calls) == MAX_CALLS and fed == MAX_CALLS


def test_ordinary_text_is_not_held_back():
    """Streaming stays immediate: a plain answer's pieces come out as they go in."""
    parser = ToolTextParser(NAMES)
    pieces = ["The", " capital", " of", " France", " is", " Paris", ".\n\n", "It", " has", " a", " <t", "d>", " tag"]
    assert [parser.feed(piece) for piece in pieces] == [*pieces[:-3], " ", "<td>", " tag"]  # "<t" may be <tool_call>
    assert [parser.feed(piece) for piece in [" {", "2", "}"]] == [" ", "{2", "}"]  # '{"' may begin a call
    # A line that begins like JSON, a quote or a fence is held only until its next character says otherwise.
    assert parser.feed("\n") == "\n"
    assert parser.feed("> ") == ""
    assert parser.feed("Note") == "> Note"
    assert parser.feed("\n```") == "\n"
    assert parser.feed("python\n") == "```python\n"
    assert parser.close() == ""


@pytest.mark.parametrize(
    "text",
    [
        '{"key": "value"}',
        "```python\nprint('hi')\n```",
        "```json\n[1, 2, 3]\n```",
        '```json\n{"name": "Alice", "age": 30}\n```',
        'Use it like this:\n```js\nconst user = {"name": "Ann"};\nfunction f() {\n  return user;\n}\n```',
        "Hello there, {name}!",
        "{ this is not json",
        "> a quote\n- [ ] a task\n[a link](https://example.com)",
        "a < b and c > d",
    ],
)
@pytest.mark.parametrize("piece", [1, 3, 50])
def test_text_that_only_looks_like_a_call_stays_text(text, piece):
    assert parse(text, piece) == (text, [])


def test_answers_written_in_the_call_format_are_text():
    assert parse('{"response": "248"}') == ("248", [])
    assert parse('{"name": "response", "arguments": {"text": "It is 3 am in Tokyo."}}') == ("It is 3 am in Tokyo.", [])
    # Before a call, with tools withdrawn: the answer stands, the call is dropped.
    text = '{"response": "7006652"}\n{"name": "calculator", "arguments": {"expression": "1234*5678"}}'
    assert parse(text, offered=False) == ("7006652", [("calculator", {"expression": "1234*5678"})])


def test_a_broken_tagged_call_is_still_a_call_so_the_model_hears_why():
    parser = ToolTextParser(NAMES)
    out = parser.feed('<tool_call>{"name": "calculator", "arguments": {"expr') + parser.close()
    assert out == "" and [(c.name, c.arguments) for c in parser.calls] == [("calculator", '{"expr')]
    parser = ToolTextParser(NAMES)
    assert parser.feed("<tool_call>calculator(2+2)</tool_call>") + parser.close() == ""
    assert [(c.name, c.arguments) for c in parser.calls] == [("", "calculator(2+2)")]


def test_a_long_json_text_is_released_and_a_long_call_is_cut():
    data = '{"rows": [' + ", ".join(f'{{"id": {n}, "label": "row {n}"}}' for n in range(BLOCK_LIMIT // 20)) + "]}"
    assert parse(data, 50) == (data, [])
    parser = ToolTextParser(NAMES)
    call = '{"name": "calculator", "arguments": {"expression": "' + "1 + " * BLOCK_LIMIT
    shown = "".join(parser.feed(call[at : at + 50]) for at in range(0, len(call), 50) if not parser.stopped)
    assert shown == "" and parser.stopped and parser.calls[0].name == "calculator"
