"""The sidebar's search, as a person uses it: "Bulk" finds the chats titled so, one row per chat, titles cut
with an ellipsis, snippets in plain words."""

from __future__ import annotations

import pytest

from chat.models import ChatInstance, Message
from tests.e2e.test_page_layout import DESKTOP, open_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_search_finds_chats_by_title_and_by_message_once_each(browser, daphne_server, person, model):
    for n in range(30):
        ChatInstance.objects.create(owner=person, chat_model=model, title=f"Bulk chat number {n} " + "long " * 12)
    airships = ChatInstance.objects.create(owner=person, chat_model=model, title="Airships")
    for seq, text in enumerate(["The **zeppelin** flew.", "| a | **zeppelin** |", "## Zeppelin facts"], 1):
        Message.objects.create(chat=airships, seq=seq, role="user", content=text)
    context, page = open_page(browser, daphne_server, DESKTOP, f"/c/{airships.public_id}/")
    page.fill("#search", "Bulk")
    page.wait_for_selector("#search-results:not([hidden]) li a")
    rows = page.locator("#search-results li a")
    titles = rows.locator(".title").all_inner_texts()
    cut = rows.first.locator(".title").evaluate(
        "n => n.scrollWidth > n.clientWidth && getComputedStyle(n).textOverflow"
    )
    assert len(titles) == 20 and len(set(titles)) == 20 and all(t.startswith("Bulk chat number") for t in titles)
    assert cut == "ellipsis"
    page.fill("#search", "zeppelin")
    page.wait_for_function("document.querySelector('#search-results .title')?.textContent === 'Airships'")
    assert page.locator("#search-results li a").count() == 1
    snippet = page.inner_text("#search-results .snippet")
    page.screenshot(path="/tmp/search.png")
    context.close()
    assert "zeppelin" in snippet.lower() and "*" not in snippet and "|" not in snippet and "#" not in snippet
