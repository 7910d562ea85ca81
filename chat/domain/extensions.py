"""What other apps add to chat's messages and turns, registered by those apps: chat never names them.

The voice app registers the recording behind a voice message (``voice/apps.py``): the reverse relation to
load with messages, its JSON in the API, a player and a timing on the review desk, and a link in exports.
Chat's serializers, selectors, admin and export ask this registry instead of knowing about recordings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chat.models import Message
    from chat.turns.events import Event

# Speaks a turn: its events in, the same events with ``speech`` events among them out (the voice app).
TurnSpeaker = Callable[["AsyncIterator[Event]", str], "AsyncIterator[Event]"]
_speaker: list[TurnSpeaker] = []


_routes: list[Any] = []


def register_websocket_route(route: Any) -> None:
    """A websocket route another app serves behind chat's authentication and origin check."""
    _routes.append(route)


def websocket_routes() -> list[Any]:
    return list(_routes)


_summaries: list[Callable[[Any], str | None]] = []


def register_admin_summary(summary: Callable[[Any], str | None]) -> None:
    """A line of figures over the conversations a reviewer has filtered (the review desk's list)."""
    _summaries.append(summary)


def admin_summaries(chats: Any) -> list[str]:
    return [html for summary in _summaries if (html := summary(chats))]


def register_speaker(speaker: TurnSpeaker) -> None:
    _speaker[:] = [speaker]


def speaker() -> TurnSpeaker | None:
    """What speaks a turn asked with ``speak``, if an app provides it."""
    return _speaker[0] if _speaker else None


@dataclass(frozen=True, slots=True)
class MessageExtension:
    key: str  # its field in a message's JSON (always present, None where it has nothing)
    related: str | None  # the reverse one-to-one loaded with messages (``select_related``), if any
    to_dict: Callable[[Message], dict[str, Any] | None]
    admin_html: Callable[[Message], str | None]  # on the review desk's conversation page
    admin_timing: Callable[[Message], str | None]  # a part of the message's timings line
    export_link: Callable[[Message], tuple[str, str] | None]  # (label, path) in a Markdown export


_extensions: dict[str, MessageExtension] = {}


def register(extension: MessageExtension) -> None:
    _extensions[extension.key] = extension


def message_related() -> list[str]:
    """The relations to ``select_related`` whenever messages are read to be shown."""
    return [extension.related for extension in _extensions.values() if extension.related]


def message_fields(message: Message) -> dict[str, Any]:
    return {key: extension.to_dict(message) for key, extension in _extensions.items()}


def admin_html(message: Message) -> list[str]:
    return [html for extension in _extensions.values() if (html := extension.admin_html(message))]


def admin_timings(message: Message) -> list[str]:
    return [part for extension in _extensions.values() if (part := extension.admin_timing(message))]


def export_links(message: Message) -> list[tuple[str, str]]:
    return [link for extension in _extensions.values() if (link := extension.export_link(message))]
