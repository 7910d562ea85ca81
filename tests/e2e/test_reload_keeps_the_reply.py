"""A reply the page started survives a reload of that page (or its closing): the reloaded page follows it to
its end, and it is saved whole."""

from __future__ import annotations

import pytest

from chat.models import Message
from tests.e2e.test_chat_ui import send, start_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

WORDS = [f"w{i} " for i in range(80)]


def test_reloading_the_tab_that_sent_the_message_keeps_the_reply(page, llm):
    llm.script(tokens=WORDS, delay=0.05)
    start_chat(page)
    send(page, "Count slowly")
    page.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 12")
    page.reload()
    page.wait_for_selector(".msg.assistant.complete", timeout=20000)
    assert page.inner_text(".msg.assistant .body").strip() == "".join(WORDS).strip()
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.finish_reason, reply.content) == ("complete", "stop", "".join(WORDS))


def test_closing_the_tab_keeps_the_reply_and_stop_still_ends_one(page, llm):
    llm.script(tokens=WORDS, delay=0.05)
    start_chat(page)
    send(page, "Count slowly")
    page.wait_for_url("**/c/ci_*/")
    url = page.url
    page.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 12")
    context = page.context
    page.close()
    other = context.new_page()
    other.goto(url)
    other.wait_for_selector(".msg.assistant.complete", timeout=20000)
    assert Message.objects.get(role="assistant").status == "complete"
    # Stop is still the way to end a reply.
    llm.script(tokens=WORDS, delay=0.05)
    send(other, "Again")
    other.wait_for_function("document.querySelectorAll('.msg.assistant').length === 2")
    other.wait_for_selector("#stop:not([hidden])")
    other.click("#stop")
    other.wait_for_function("document.querySelectorAll('.msg.assistant.complete').length === 1")
    last = Message.objects.filter(role="assistant").order_by("-seq").first()
    for _ in range(50):
        if last.status != "streaming":
            break
        other.wait_for_timeout(100)
        last.refresh_from_db()
    assert (last.status, last.finish_reason) == ("interrupted", "stopped")
