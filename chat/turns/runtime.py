"""The turns running in this process, so that a stop request can reach them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class TurnControl:
    """Handle on one running turn: the task that runs it, and whether a person asked it to stop."""

    chat_id: str
    message_id: str
    task: asyncio.Task[Any] | None = None
    stop_requested: bool = False
    # True only while the turn waits on the model, the one place where cancelling it is safe.
    cancellable: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self) -> bool:
        """Stop the reply within one token; the turn saves what it has as ``interrupted``."""
        if self.done.is_set() or self.task is None:
            return False
        if not self.stop_requested:
            self.stop_requested = True
            if self.cancellable:
                self.task.cancel()
        return True


_running: dict[str, TurnControl] = {}


def register(control: TurnControl) -> None:
    _running[control.message_id] = control


def unregister(control: TurnControl) -> None:
    if _running.get(control.message_id) is control:
        del _running[control.message_id]
    control.done.set()


def get(message_id: str) -> TurnControl | None:
    return _running.get(message_id)


def running() -> list[TurnControl]:
    return list(_running.values())
