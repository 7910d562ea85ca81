"""Objects that belong to one event loop (connection pools, batching tasks), cached per loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def for_running_loop(
    registry: dict[tuple[int, Hashable], tuple[asyncio.AbstractEventLoop, Any]],
    key: Hashable,
    make: Callable[[], T],
    usable: Callable[[T], bool] | None = None,
) -> T:
    """The object cached in ``registry`` under ``key`` for the running loop, made by ``make()`` when there
    is none yet, when ``usable`` rejects it, or when it belongs to a closed loop whose id this one reuses."""
    loop = asyncio.get_running_loop()
    entry = registry.get((id(loop), key))
    if entry is None or entry[0] is not loop or (usable is not None and not usable(entry[1])):
        entry = registry[(id(loop), key)] = (loop, make())
    return entry[1]
