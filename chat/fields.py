"""Model fields for text that comes from outside: models, tools, MCP servers, transcriptions, people.

PostgreSQL refuses a NUL character in text and in JSON (``psycopg.DataError``), where SQLite stores it; one
NUL in a tool's result or a model's reply would fail the save of the whole reply. These fields store it as
U+FFFD, the replacement character, on every database, so what is stored is the same everywhere.
"""

from __future__ import annotations

from typing import Any

from django.db import models

NUL, REPLACEMENT = "\x00", "\ufffd"


def storable(value: Any) -> Any:
    """``value`` with every NUL in its text (strings, and the keys and values of lists and dicts) replaced."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


class StoredTextField(models.TextField):
    def get_prep_value(self, value: Any) -> Any:
        return storable(super().get_prep_value(value))


class StoredCharField(models.CharField):
    def get_prep_value(self, value: Any) -> Any:
        return storable(super().get_prep_value(value))


class StoredJSONField(models.JSONField):
    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(storable(value))
