"""The engines of both sides, built once per process and shared: a setting maps engine names to dotted paths
(``TRANSCRIPTION_ENGINES``, ``TTS_ENGINES``), and each (engine, model or voice) is built the first time it is
asked for, as Django's connection handlers build a cache or a database once per alias.

The engines stay free of settings; ``voice.transcription.registry`` and ``voice.synthesis.registry`` build
their configs from the settings and hand them to ``EngineRegistry.get``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.utils.module_loading import import_string

from chat.exceptions import ChatError

EngineT = TypeVar("EngineT")


class EngineRegistry(Generic[EngineT]):
    """The engines named in one setting, keyed by (engine, model or voice)."""

    def __init__(self, setting: str, unavailable: type[ChatError]) -> None:
        self.setting = setting
        self.unavailable = unavailable  # the API error for an unknown engine (a 400)
        self._engines: dict[tuple[str, str], EngineT] = {}
        self._lock = threading.Lock()

    def _paths(self) -> dict[str, str]:
        paths: dict[str, str] = getattr(settings, self.setting)
        return paths

    def require(self, name: str) -> None:
        """Refuse an engine the setting does not name."""
        if name not in (paths := self._paths()):
            raise self.unavailable(f"Unknown speech engine '{name}'. Choose one of: {', '.join(paths)}.", status=400)

    def get(self, name: str, key: str, build: Callable[[type[EngineT]], EngineT]) -> EngineT:
        """The shared engine ``name`` for ``key``: ``build`` makes it from the engine's class the first time
        (what it raises is raised, and nothing is kept)."""
        self.require(name)
        with self._lock:
            if (name, key) not in self._engines:
                self._engines[name, key] = build(import_string(self._paths()[name]))
            return self._engines[name, key]
