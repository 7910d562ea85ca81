"""Full-text search over a user's own messages: SQLite FTS5 or PostgreSQL's text search with a GIN index.

The same search backs ``GET /api/search``, the sidebar's search box and the ``search_conversations`` tool.
Every query is scoped to the owner's conversations: another user's messages are never read.

Terms are matched as prefixes (``weath`` finds "weather") and all must appear. Without stemming on either
database (FTS5's ``unicode61`` tokenizer, PostgreSQL's ``simple`` configuration), so every language
is searched alike. Snippets mark the matches with « and ».
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from chat.models import ChatInstance, Message

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
FTS_TABLE = "chat_message_fts"
_TERM = re.compile(r"\w+", re.UNICODE)
HEADLINE = "StartSel=«, StopSel=», MaxWords=24, MinWords=8, MaxFragments=1"


@dataclass(frozen=True, slots=True)
class SearchHit:
    chat_id: str
    chat_title: str
    message_id: str
    seq: int
    role: str
    snippet: str
    created_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "chatInstanceId": self.chat_id,
            "chatTitle": self.chat_title,
            "messageId": self.message_id,
            "seq": self.seq,
            "role": self.role,
            "snippet": self.snippet,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
        }


_MARKUP = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"```\w*|`+"), ""),  # code fences and ticks
    (re.compile(r"(\*\*|__|~~)"), ""),  # bold, strike
    (re.compile(r"(?<!\w)[*_]|[*_](?!\w)"), ""),  # italics (not the _ inside snake_case)
    (re.compile(r"(?m)^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)"), ""),  # headings, quotes, list marks
    (re.compile(r"\|"), " "),  # table pipes
    (re.compile(r"\s+"), " "),
]


def plain(snippet: str) -> str:
    """A snippet without the markdown it was written in (the match marks « » stay)."""
    for pattern, replacement in _MARKUP:
        snippet = pattern.sub(replacement, snippet)
    return snippet.strip()


@dataclass(frozen=True, slots=True)
class ChatHit:
    chat_id: str
    chat_title: str
    snippet: str  # the best matching message's, or "" when only the title matched
    seq: int | None

    def to_dict(self) -> dict[str, object]:
        return {"chatInstanceId": self.chat_id, "chatTitle": self.chat_title, "snippet": self.snippet, "seq": self.seq}


def search_chats(*, user_id: int, query: str, limit: int = 20) -> list[ChatHit]:
    """Chats, one row each: those whose title has every word (as a prefix of one of its words) first, most
    recently active first, then those with matching messages, in the messages' rank, with their best snippet."""
    words = terms(query)
    if not words:
        return []
    titled = ChatInstance.objects.filter(owner_id=user_id)
    for word in words:
        titled = titled.filter(title__iregex=r"(^|\W)" + re.escape(word))
    hits = [ChatHit(c.public_id, c.title, "", None) for c in titled.order_by("-updated_at")[:limit]]
    seen = {hit.chat_id for hit in hits}
    for hit in search_messages(user_id=user_id, query=query, limit=limit * 5):
        if len(hits) >= limit:
            break
        if hit.chat_id not in seen:
            seen.add(hit.chat_id)
            hits.append(ChatHit(hit.chat_id, hit.chat_title, hit.snippet, hit.seq))
    return hits


def terms(query: str) -> list[str]:
    """The words of a query (punctuation and operators dropped: a query is words, not syntax)."""
    return _TERM.findall(query.lower()[:MAX_QUERY_CHARS])[:MAX_TERMS]


def search_messages(*, user_id: int, query: str, limit: int = 10) -> list[SearchHit]:
    words = terms(query)
    if not words:
        return []
    messages, chats = Message._meta.db_table, ChatInstance._meta.db_table
    if connection.vendor == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in words)
        sql = f"""
            SELECT c.public_id, c.title, m.public_id, m.seq, m.role,
                   ts_headline('simple', m.content, q, %s),
                   m.created_at
            FROM {messages} m JOIN {chats} c ON c.id = m.chat_id, to_tsquery('simple', %s) q
            WHERE c.owner_id = %s AND to_tsvector('simple', m.content) @@ q AND m.status != 'streaming'
            ORDER BY ts_rank(to_tsvector('simple', m.content), q) DESC, m.created_at DESC
            LIMIT %s
        """  # noqa: S608 - table names from the models; values are parameters
        params: list[object] = [HEADLINE, tsquery, user_id, limit]
    else:
        match = " ".join(f'"{word}"*' for word in words)
        sql = f"""
            SELECT c.public_id, c.title, m.public_id, m.seq, m.role,
                   snippet({FTS_TABLE}, 0, '«', '»', '…', 16), m.created_at
            FROM {FTS_TABLE} f JOIN {messages} m ON m.id = f.rowid JOIN {chats} c ON c.id = m.chat_id
            WHERE {FTS_TABLE} MATCH %s AND c.owner_id = %s AND m.status != 'streaming'
            ORDER BY bm25({FTS_TABLE}), m.created_at DESC
            LIMIT %s
        """  # noqa: S608
        params = [match, user_id, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = []
    for chat_id, title, message_id, seq, role, snippet, created in rows:
        if isinstance(created, str):
            created = parse_datetime(created)
        if created.tzinfo is None:  # SQLite keeps UTC without an offset
            created = created.replace(tzinfo=UTC)
        hits.append(SearchHit(chat_id, title or "Untitled", message_id, seq, role, plain(snippet or ""), created))
    return hits
