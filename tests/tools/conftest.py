from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from chat.models import ChatModel, McpServer
from tests.conftest import post_turn, read_stream


@pytest.fixture
def tool_model(chat_model: ChatModel) -> ChatModel:
    chat_model.tools = ["calculator", "current_time", "search_conversations", "ask_user"]
    chat_model.save()
    return chat_model


@pytest.fixture
def tool_chat(chat, tool_model):
    chat.chat_model = tool_model
    return chat


def call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, str]:
    """A tool call as the test upstream streams it (arguments as JSON text, split over several chunks)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "name": name, "arguments": text}


async def turn_events(api, chat, message: str = "Hi there") -> list[dict[str, Any]]:
    response = await post_turn(api, chat, message)
    assert response.status_code == 200
    events, _ = await read_stream(response)
    return events


def stdio_server(name: str = "testtools") -> McpServer:
    return McpServer.objects.create(
        name=name, transport="stdio", command=sys.executable, args=["-m", "tests.support.mcp_server"]
    )
