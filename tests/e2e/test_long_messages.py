"""A message too long for the model is refused before it is saved, with how long it may be, and the chat goes
on; a long history is trimmed to fit, and the reply says so."""

from __future__ import annotations

import pytest

from chat.models import ChatModel, Message
from tests.e2e.test_chat_ui import send, start_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_a_message_too_long_is_refused_and_the_chat_still_answers(page, llm, model):
    ChatModel.objects.filter(pk=model.pk).update(context_window=4096)
    start_chat(page)
    page.fill("#input", "x" * 30_000)
    page.press("#input", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "can take about" in page.inner_text("#error") and "30,000" in page.inner_text("#error")
    assert not page.is_visible("#error .retry")  # the same message would be refused again
    page.click("#error .close")
    assert page.is_hidden("#error")
    assert not Message.objects.exists()
    llm.script(tokens=["Hello there."])
    page.fill("#input", "")
    send(page, "hi")
    page.wait_for_selector(".msg.assistant.complete")
    assert page.inner_text(".msg.assistant .body").strip() == "Hello there."


def test_a_trimmed_history_is_marked_on_the_reply(page, llm, model):
    ChatModel.objects.filter(pk=model.pk).update(context_window=300, max_tokens=50)
    start_chat(page)
    for n in range(4):
        llm.script(tokens=["word " * 40])
        send(page, f"question {n} " + "word " * 40)
        page.wait_for_function(f"document.querySelectorAll('.msg.assistant.complete').length === {n + 1}")
    badge = page.locator(".msg.assistant").last.locator(".badge.trimmed")
    assert badge.is_visible() and "left out" in badge.get_attribute("title")


def test_after_a_long_message_the_box_shrinks_and_the_view_shows_the_reply_coming(page, llm):
    llm.script(tokens=[f"w{i} " for i in range(30)], delay=0.1)
    start_chat(page)
    page.fill("#input", "A long question. " * 1200)  # 20,000 characters
    page.dispatch_event("#input", "input")
    assert page.evaluate("document.querySelector('#input').offsetHeight") > 150
    page.press("#input", "Enter")
    page.wait_for_selector(".msg.assistant")
    page.wait_for_timeout(300)
    assert page.evaluate("document.querySelector('#input').offsetHeight") < 80
    box = page.evaluate("""() => { const m = document.querySelector('#messages');
        return m.scrollHeight - m.scrollTop - m.clientHeight; }""")
    assert box < 50  # scrolled to the reply that is coming, below the long message
