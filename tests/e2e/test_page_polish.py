"""What every peer's page has: Escape stops a reply, a button back to the latest message, chats grouped by
date, the page's own 404 and a named sign-in page, timings for operators only, and a reply announced once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from chat.models import ChatInstance, Message
from tests.e2e.conftest import sign_in
from tests.e2e.test_chat_ui import send, start_chat
from tests.e2e.test_page_layout import DESKTOP, open_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_escape_stops_a_reply(page, llm):
    llm.script(tokens=[f"w{i} " for i in range(200)], delay=0.05)
    start_chat(page)
    send(page, "Count")
    page.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 5")
    page.keyboard.press("Escape")
    page.wait_for_selector(".msg.assistant .badge.stopped")
    assert Message.objects.get(role="assistant").finish_reason == "stopped"


def test_a_button_brings_back_the_latest_message(page, llm):
    llm.script(tokens=["A line of the reply.\n\n"] * 80)
    start_chat(page)
    send(page, "Long")
    page.wait_for_selector(".msg.assistant.complete")
    assert page.is_hidden("#to-bottom")
    page.evaluate("document.querySelector('#messages').scrollTop = 0")
    page.wait_for_selector("#to-bottom:not([hidden])")
    page.click("#to-bottom")
    page.wait_for_selector("#to-bottom", state="hidden")


def test_chats_are_grouped_by_when_they_were_last_active(browser, daphne_server, person, model):
    now = timezone.now()
    for title, days in (("Now", 0), ("Before", 1), ("Last week", 3), ("Last month", 12), ("Long ago", 90)):
        chat = ChatInstance.objects.create(owner=person, chat_model=model, title=title)
        Message.objects.create(chat=chat, seq=1, role="user", content="hi")
        ChatInstance.objects.filter(pk=chat.pk).update(updated_at=now - timedelta(days=days))
    context, page = open_page(browser, daphne_server, DESKTOP)
    rows = [row.lower() for row in page.locator("#chat-list li").all_inner_texts()]
    context.close()
    assert rows[:9] == ["today", "now", "yesterday", "before", "previous 7 days", "last week", "previous 30 days",
                        "last month", rows[8]] and rows[9] == "long ago"  # fmt: skip


def test_someone_elses_chat_is_the_pages_own_404_and_sign_in_has_the_products_name(page, daphne_server, model):
    stranger = get_user_model().objects.create_user("stranger", password="another-long-password")
    theirs = ChatInstance.objects.create(owner=stranger, chat_model=model, title="Private")
    response = page.goto(f"{daphne_server.url}/c/{theirs.public_id}/")
    assert response.status == 404 and "This page does not exist" in page.inner_text("main")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"  # styled
    context = page.context.browser.new_context()
    login = context.new_page()
    login.goto(f"{daphne_server.url}/accounts/login/")
    assert "Chat server" in login.inner_text(".brand") and "Chat server" in login.title()
    context.close()


def test_timings_are_for_staff_and_a_reply_is_announced_once(browser, daphne_server, person, model, llm):
    llm.script(tokens=["Hello ", "there."], delay=0.05)
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    sign_in(page, daphne_server)
    start_chat(page)
    page.evaluate("""() => { window.announced = [];
        new MutationObserver(() => window.announced.push(document.querySelector('#announce').textContent))
            .observe(document.querySelector('#announce'), {childList: true, characterData: true, subtree: true}); }""")
    send(page, "Hi")
    page.wait_for_selector(".msg.assistant.complete")
    assert page.inner_text(".msg.assistant .details") == ""
    assert page.evaluate("window.announced") == ["Reply: Hello there."]
    assert page.get_attribute("#messages", "aria-live") is None
    context.close()
    get_user_model().objects.filter(pk=person.pk).update(is_staff=True)
    context = browser.new_context(viewport=DESKTOP)
    staff = context.new_page()
    sign_in(staff, daphne_server)
    staff.wait_for_selector(".msg.assistant.complete")
    staff.wait_for_function(
        "(document.querySelector('.msg.assistant .details')?.textContent || '').includes('first token')", timeout=5000
    )
    context.close()
