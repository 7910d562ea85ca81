"""A reply's markdown renders as it streams, by the server's sanitising rules, and its code blocks are
highlighted, labelled and copyable; every message has a Copy button. All under the page's CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chat.domain.markdown import render_markdown
from chat.models import Message
from tests.e2e.test_chat_ui import send, start_chat
from tests.e2e.test_page_layout import DESKTOP, PHONE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

REPLY = ".msg.assistant"
STREAMING = ".msg.assistant.streaming"
MORE = [f"more{i} " for i in range(40)]  # the reply goes on after what a test looks at: it is still streaming

TABLE = ["Here ", "is ", "**bo", "ld** ", "text.\n\n", "| fruit ", "| count |\n", "|:--", "|--:|\n",
         "| apples ", "| 3 |\n", "| pears | 5 |\n", "\n"]  # fmt: skip

HOSTILE = ["Look: <im", "g src=x onerror=\"document.title='pwned'\"> and ", "<script>document.title='pwned'",
           "</script> and [click](javascript:", "document.title='pwned') and ", "<a href=\"javascript:alert(1)\">a</a>",
           " and <javascript:alert(1)> and [ftp](ftp://example.com/f) [tel](tel:123)",  # markdown-it lets these by
           " and [safe](https://example.com/x).\n\n"]  # fmt: skip

CODE = ["Here:\n\n", "```python\n", "def add(a, b):\n", "    return a + b\n", "```", "\n\nDone.\n\n"]
SLOW_CODE = CODE[:3] + ["    # the block stays open\n"] * 8 + CODE[3:]
COPIED_CODE = "def add(a, b):\n" + "    # the block stays open\n" * 8 + "    return a + b"


def allow_clipboard(page):
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def still_streaming(page) -> bool:
    return page.locator(f"{REPLY}.complete").count() == 0 and page.locator(STREAMING).count() == 1


def same_as_the_server(page, content: str) -> bool:
    """The reply's body holds exactly what the server renders of the same text (both read by this browser)."""
    expected = page.evaluate(
        "html => new DOMParser().parseFromString(html, 'text/html').body.innerHTML", render_markdown(content)
    )
    return page.inner_html(f"{REPLY} .body").strip() == expected.strip()


def streaming(page, llm, tokens: list[str], message: str, selector: str) -> None:
    """``message`` sent, and the reply (``tokens``, paced) still streaming once ``selector`` shows in it."""
    llm.script(tokens=tokens + MORE, delay=0.08)
    start_chat(page)
    send(page, message)
    page.wait_for_selector(f"{STREAMING} .body {selector}")
    assert still_streaming(page)


def test_a_table_and_bold_text_render_while_the_reply_streams(strict_page, llm):
    page = strict_page
    streaming(page, llm, TABLE, "A table please", "table td >> text=pears")
    assert page.inner_text(f"{REPLY} .body strong") == "bold"
    assert page.locator(f"{REPLY} .body th").all_inner_texts() == ["fruit", "count"]
    assert "|" not in page.inner_text(f"{REPLY} .body")  # no raw pipes on screen
    # The column's alignment is kept, but not as a style attribute: the page's CSP refuses those.
    assert page.get_attribute(f"{REPLY} .body td >> nth=1", "data-align") == "right"
    assert page.locator(f"{REPLY} .body [style]").count() == 0
    page.wait_for_selector(f"{REPLY}.complete")
    assert page.locator(f"{REPLY} .body table tbody tr").count() == 2
    page.reload()  # the saved reply, rendered by the server, looks the same
    page.wait_for_selector(f"{REPLY}.complete .body table")
    assert page.get_attribute(f"{REPLY} .body td >> nth=1", "data-align") == "right"
    assert page.locator(f"{REPLY} .body [style]").count() == 0


def assert_nothing_hostile(page):
    body = f"{REPLY} .body"
    assert page.locator(f"{body} img, {body} script, {body} [onerror]").count() == 0
    links = page.locator(f"{body} a").evaluate_all("links => links.map((a) => [a.textContent, a.getAttribute('href')])")
    assert links == [["ftp", None], ["tel", None], ["safe", "https://example.com/x"]]  # http, https, mailto only
    assert set(page.locator(f"{body} a").evaluate_all("links => links.map((a) => a.rel)")) == {
        "noopener noreferrer nofollow"
    }
    text = page.inner_text(body)
    assert "<img src=x onerror=" in text and "<script>" in text and "[click](javascript:" in text
    assert page.title() != "pwned"


def test_html_and_script_links_in_the_text_never_become_elements(strict_page, llm):
    page = strict_page
    streaming(page, llm, HOSTILE, "Be hostile", "a[href='https://example.com/x']")
    assert_nothing_hostile(page)
    page.wait_for_selector(f"{REPLY}.complete")
    assert_nothing_hostile(page)
    content = Message.objects.get(role="assistant").content
    assert same_as_the_server(page, content)  # what streamed is what the server's rules make of it
    page.reload()
    page.wait_for_selector(f"{REPLY}.complete")
    assert_nothing_hostile(page)
    assert same_as_the_server(page, content)


def asked(page, llm, tokens: list[str], delay: float, message: str) -> None:
    """A new chat on a page that may use the clipboard, asked ``message``, answered with ``tokens``."""
    allow_clipboard(page)
    llm.script(tokens=tokens, delay=delay)
    start_chat(page)
    send(page, message)


def test_a_code_block_is_highlighted_labelled_and_copied(strict_page, llm):
    page = strict_page
    asked(page, llm, SLOW_CODE + MORE, 0.15, "Some code")
    block = page.locator(f"{REPLY} .code-block")
    # While the block is open: its label and Copy already show; it is coloured once closed.
    page.wait_for_selector(f"{STREAMING} .code-block .code-lang >> text=python")
    assert block.locator("code.hljs").count() == 0
    page.wait_for_selector(f"{STREAMING} .code-block code.hljs .hljs-keyword")
    assert still_streaming(page)
    assert block.locator(".hljs-keyword").first.inner_text() == "def"
    assert block.locator(".code-lang").inner_text() == "python"
    block.locator(".copy-code").click()
    page.wait_for_selector(f"{REPLY} .copy-code >> text=Copied")
    assert clipboard(page) == COPIED_CODE
    page.wait_for_selector(f"{REPLY}.complete")
    assert page.locator(f"{REPLY} .code-block code.hljs .hljs-keyword").count() >= 1
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)
        page.screenshot(path=f"/tmp/markdown-code-{name}.png")
    page.set_viewport_size(DESKTOP)
    page.reload()  # the saved reply: the server's HTML, highlighted, labelled and copyable the same way
    page.wait_for_selector(f"{REPLY}.complete .code-block code.hljs .hljs-keyword")
    assert page.inner_text(f"{REPLY} .code-lang") == "python"
    page.locator(f"{REPLY} .copy-code").click()
    page.wait_for_selector(f"{REPLY} .copy-code >> text=Copied")
    assert clipboard(page) == COPIED_CODE


def test_every_message_copies_its_text_and_a_reply_its_markdown(strict_page, llm):
    page = strict_page
    asked(page, llm, TABLE + CODE, 0.01, "Copy me")
    page.wait_for_selector(f"{REPLY}.complete")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path="/tmp/markdown-table-code-dark.png")
    page.emulate_media(color_scheme="light")
    markdown = Message.objects.get(role="assistant").content
    assert "**bold**" in markdown and "```python" in markdown
    for message, text in ((REPLY, markdown), (".msg.user", "Copy me")):
        page.click(f"{message} .copy-message")
        page.wait_for_selector(f"{message} .copy-message[aria-label=Copied]")
        assert clipboard(page) == text
    page.reload()  # the same from the saved messages
    for message, text in ((REPLY, markdown), (".msg.user", "Copy me")):
        page.click(f"{message} .copy-message")
        page.wait_for_selector(f"{message} .copy-message[aria-label=Copied]")
        assert clipboard(page) == text
