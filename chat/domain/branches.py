"""Reads of a conversation's tree: its branches, a message's versions, what follows a message.

Every message but a chat's first has a ``parent``; messages with the same parent are versions of each other
(an edited question, a regenerated reply). A chat's active branch is the path from its root to
``ChatInstance.active_message``. The walks are recursive CTEs (SQLite and PostgreSQL both have them): one
query whatever the branch's length, each step an index lookup by primary key.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection

from chat.models import Message


def _table() -> str:
    return connection.ops.quote_name(Message._meta.db_table)


@functools.cache
def _up_sql(columns: str) -> str:
    """From a message up to its root, at most ``%s`` steps, root first: ``columns`` of each (aliased ``m``)."""
    table = _table()
    return (
        f"WITH RECURSIVE up(id, depth) AS ("
        f"SELECT id, 0 FROM {table} WHERE id = %s "
        f"UNION ALL SELECT m.parent_id, up.depth + 1 FROM {table} m JOIN up ON m.id = up.id "
        f"WHERE m.parent_id IS NOT NULL AND up.depth + 1 < %s) "
        f"SELECT {columns} FROM up JOIN {table} m ON m.id = up.id ORDER BY up.depth DESC"
    )


@functools.cache
def _down_sql(columns: str) -> str:
    """A message and everything that follows it on any branch: ``columns`` of each (aliased ``m``)."""
    table = _table()
    return (
        f"WITH RECURSIVE down(id) AS (SELECT id FROM {table} WHERE id = %s "
        f"UNION ALL SELECT m.id FROM {table} m JOIN down ON m.parent_id = down.id) "
        f"SELECT {columns} FROM down JOIN {table} m ON m.id = down.id"
    )


def path_rows(leaf_id: int | None, columns: str, *, limit: int = 1_000_000) -> list[tuple[Any, ...]]:
    """``columns`` of the messages from the root to ``leaf_id`` (the last ``limit`` of them), root first."""
    if leaf_id is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_up_sql(columns), [leaf_id, limit])
        return cursor.fetchall()


def path_ids(leaf_id: int | None) -> list[int]:
    """The ids of the branch that ends at ``leaf_id``, root first."""
    return [row[0] for row in path_rows(leaf_id, "m.id")]


def descendants(message_id: int, columns: str = "m.id") -> list[tuple[Any, ...]]:
    """``columns`` of a message and of every message after it, on all its branches."""
    with connection.cursor() as cursor:
        cursor.execute(_down_sql(columns), [message_id])
        return cursor.fetchall()


def newest_leaf(message_id: int) -> tuple[int, str]:
    """The newest message that follows ``message_id`` (itself when none does), its id and public id: the end
    of the branch a person expects to see through it. The newest descendant has no children, since a child
    is always written after its parent."""
    rows = descendants(message_id, "m.id, m.seq, m.public_id")
    pk, _, public_id = max(rows, key=lambda row: row[1])
    return pk, public_id


def sibling_ids(chat_id: int, parent_ids: set[int | None]) -> dict[int | None, list[str]]:
    """For each parent, the public ids of its children, oldest first (``None``: the chat's first messages)."""
    if not parent_ids:
        return {}
    queryset = Message.objects.filter(chat_id=chat_id).order_by("id")
    inner = [pk for pk in parent_ids if pk is not None]
    if None in parent_ids:
        queryset = queryset.filter(parent_id__in=inner) | queryset.filter(parent__isnull=True)
    else:
        queryset = queryset.filter(parent_id__in=inner)
    found: dict[int | None, list[str]] = {pk: [] for pk in parent_ids}
    for parent_id, public_id in queryset.values_list("parent_id", "public_id"):
        found[parent_id].append(public_id)
    return found


def children_ids(chat_id: int, parent_id: int | None) -> list[str]:
    """The public ids of the messages that follow ``parent_id`` (the first messages for None), oldest first.
    Plain SQL: a turn reads it for its new message's versions."""
    table = _table()
    where = "parent_id = %s" if parent_id is not None else "parent_id IS NULL"
    params = [chat_id, parent_id] if parent_id is not None else [chat_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT public_id FROM {table} WHERE chat_id = %s AND {where} ORDER BY id", params)
        return [row[0] for row in cursor.fetchall()]
