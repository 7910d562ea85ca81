"""The readable text of a fetched page, worked out in a child process.

Parsing HTML is CPU work that no timeout on the event loop can interrupt: a 2 MB page of 250,000 tags held
the loop (and every other request) for seconds, and its tree kept hundreds of megabytes after it was freed.
So the parse runs in a process forked for it from a small server process that has only this module loaded
(``multiprocessing``'s forkserver): it is killed when the fetch's time runs out, its memory goes back to the
system when it exits, and at most ``PARSERS_AT_ONCE`` run at a time per server process. The page is cut to
``MAX_ELEMENTS`` tags before it is parsed.
"""

from __future__ import annotations

import asyncio
import codecs
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from bs4 import BeautifulSoup

from chat.loops import for_running_loop

MAX_ELEMENTS = 20_000  # a long article has a few thousand; bs4 parses about 50,000 a second on one core
PARSERS_AT_ONCE = 2

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload([__name__])
_slots: dict[Any, Any] = {}  # the PARSERS_AT_ONCE semaphore of each event loop


class Unreadable(ValueError):
    """The response is neither HTML nor text, or its text could not be worked out; the message says which."""


def readable(body: bytes, content_type: str, charset: str, max_elements: int = MAX_ELEMENTS) -> str:
    """The text of a page or a text response (an HTML page: its title, then its visible text)."""
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"  # a server naming a charset that does not exist most likely means UTF-8
    text = body.decode(charset, errors="replace")
    if "html" in content_type or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        return _html_text(_first_elements(text, max_elements))
    if content_type and not content_type.startswith(("text/", "application/json", "application/xml")):
        raise Unreadable(f"The page is not text ({content_type.split(';')[0]}).")
    return text


def _first_elements(html: str, limit: int) -> str:
    position = -1
    for _ in range(limit):
        position = html.find("<", position + 1)
        if position < 0:
            return html
    return html[:position]


def _html_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    text = "\n".join(line for line in lines if line)
    return f"{title}\n\n{text}" if title else text


def _child(connection: Connection, *arguments: Any) -> None:
    try:
        result: tuple[str, str] = ("ok", readable(*arguments))
    except Unreadable as error:
        result = ("unreadable", str(error))
    except Exception as error:  # reported to the parent, which turns it into the tool's error
        result = ("unreadable", f"The page could not be read ({type(error).__name__}).")
    connection.send(result)
    connection.close()


async def readable_isolated(body: bytes, content_type: str, charset: str) -> str:
    """``readable`` in a child process; cancelling the call (the fetch's timeout) kills the child."""
    async with for_running_loop(_slots, "parsers", lambda: asyncio.Semaphore(PARSERS_AT_ONCE)):
        receiver, sender = _context.Pipe(duplex=False)
        arguments = (sender, body, content_type, charset, MAX_ELEMENTS)
        process = _context.Process(target=_child, args=arguments, daemon=True)
        try:
            # The first start launches the fork server (a fresh interpreter importing this module).
            await asyncio.to_thread(process.start)
            sender.close()
            kind, value = await _receive(receiver)
        finally:
            receiver.close()
            if process.pid is not None:
                if process.is_alive():
                    process.kill()
                await asyncio.to_thread(process.join)
    if kind != "ok":
        raise Unreadable(value)
    return str(value)


async def _receive(connection: Connection) -> Any:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(connection.fileno(), ready.set)
    try:
        await ready.wait()
    finally:
        loop.remove_reader(connection.fileno())
    try:
        return connection.recv()
    except EOFError:  # the child died before it answered
        return ("unreadable", "The page could not be read (its parser stopped).")
