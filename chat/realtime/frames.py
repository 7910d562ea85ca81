"""Renderers of logged turn events: websocket frames and the GET event stream's blocks.

A logged event is the event's dict (``Event.to_dict()``) plus its ``eventId``: the same fields the POST
response's SSE blocks carry. A websocket frame is a logged event plus ``fromEventId``, the first eventId it
covers: it joins consecutive tokens into one frame, and leaves out what it carries another way,
``message_saved`` (every saved message is pushed with its ``seq``, for catch-up), ``agent_response``
(the same text as that ``message_saved``) and ``speech`` (audio, for those who asked), whose eventIds the next
frame covers.
"""

from __future__ import annotations

import json
from typing import Any

# ``speech`` (audio) goes only to whoever asked for it: the POST stream that asked to speak, and GET streams
# with ``?speech=1``; never to every tab of the chat.
WEBSOCKET_SKIPS = frozenset({"message_saved", "agent_response", "speech"})

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def websocket_frames(events: list[dict[str, Any]], after: int) -> list[dict[str, Any]]:
    """The websocket frames of the logged events that follow eventId ``after`` (events are shared: never
    changed here). Each frame is the event plus ``fromEventId``: the frames of a turn cover its eventIds
    with no gap, so a frame's range also takes in the events just before it that the websocket leaves out."""
    frames: list[dict[str, Any]] = []
    for event in events:
        kind = event["type"]
        if kind in WEBSOCKET_SKIPS:
            continue
        if kind == "token" and frames and frames[-1]["type"] == "token":
            frames[-1]["content"] += event["content"]
            frames[-1]["eventId"] = event["eventId"]
        elif kind == "token":
            frames.append({"type": "token", "content": event["content"], "fromEventId": after + 1,
                           "eventId": event["eventId"]})  # fmt: skip
        else:
            frames.append({**event, "fromEventId": after + 1})
        after = event["eventId"]
    return frames


def encode_frames(events: list[dict[str, Any]], after: int) -> list[tuple[int, int, str]]:
    """``websocket_frames`` encoded once for every subscriber: (fromEventId, eventId, text)."""
    return [(frame["fromEventId"], frame["eventId"], _dumps(frame)) for frame in websocket_frames(events, after)]


def cursor(seq: int, event_id: int) -> str:
    """The GET stream's ``id:``: the turn (its reply's seq) and the event, so a resume after the turn
    changed cannot be read against the wrong turn."""
    return f"{seq}:{event_id}"


def parse_cursor(raw: str | None) -> tuple[int | None, int] | None:
    """``"<seq>:<eventId>"`` or a bare ``"<eventId>"`` (the latest turn's); None for none; ValueError else."""
    if raw is None or raw.strip() == "":
        return None
    seq, colon, event_id = raw.strip().partition(":")
    if not colon:
        seq, event_id = "", seq
    if not event_id.isdigit() or (seq and not seq.isdigit()) or len(raw) > 40:
        raise ValueError(raw)
    return (int(seq) if seq else None), int(event_id)


def sse_block(event: dict[str, Any], seq: int) -> bytes:
    """One GET-stream block: ``id:`` with the event's cursor, then the same ``data:`` as the POST stream."""
    return b"id: %s\ndata: %s\n\n" % (cursor(seq, event["eventId"]).encode(), _dumps(event).encode())
