"""The page's layout holds with many chats and on a phone: the sidebar scrolls on its own and loads older
chats as it scrolls, the message box stays at the bottom, and a failed reply reads as a reply."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ChatInstance, Message
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def many_chats(person, model, count: int) -> list[ChatInstance]:
    now = timezone.now()
    chats = ChatInstance.objects.bulk_create(
        ChatInstance(owner=person, chat_model=model, title=f"Bulk chat number {n}") for n in range(count)
    )
    for n, chat in enumerate(chats):  # chat 0 is the most recent
        ChatInstance.objects.filter(pk=chat.pk).update(updated_at=now - timedelta(minutes=n))
    return chats


def open_page(browser, server, viewport, path="/"):
    context = browser.new_context(viewport=viewport, bypass_csp=True)  # wait_for_function evaluates strings
    page = context.new_page()
    sign_in(page, server)
    if path != "/":
        page.goto(f"{server.url}{path}")
    page.wait_for_selector("#chat-list li")
    return context, page


def layout_facts(page) -> dict:
    return page.evaluate("""() => {
        const nav = document.querySelector('.sidebar nav'), composer = document.querySelector('#composer');
        return {pageScrolls: document.scrollingElement.scrollHeight > innerHeight + 1,
                composerBottom: composer.getBoundingClientRect().bottom, viewport: innerHeight,
                navScrolls: nav.scrollHeight > nav.clientHeight,
                sidebarBottom: document.querySelector('.sidebar').getBoundingClientRect().bottom};
    }""")


@pytest.mark.parametrize("count", [1, 60])
def test_the_desktop_page_stays_one_screen_with_few_or_many_chats(browser, daphne_server, person, model, count):
    chats = many_chats(person, model, count)
    context, page = open_page(browser, daphne_server, DESKTOP, f"/c/{chats[0].public_id}/")
    facts = layout_facts(page)
    page.screenshot(path=f"/tmp/layout-desktop-{count}.png")
    context.close()
    assert not facts["pageScrolls"], facts
    assert facts["viewport"] - 80 < facts["composerBottom"] <= facts["viewport"], facts  # at the bottom
    assert facts["sidebarBottom"] <= facts["viewport"] + 1, facts
    assert facts["navScrolls"] == (count > 20), facts


def test_older_chats_load_as_the_list_scrolls(browser, daphne_server, person, model):
    chats = many_chats(person, model, 130)  # the API's pages are 50
    context, page = open_page(browser, daphne_server, DESKTOP, f"/c/{chats[0].public_id}/")
    assert page.locator("#chat-list li a").count() == 50
    for expected in (100, 130):
        page.locator("#chat-list li a").last.scroll_into_view_if_needed()
        page.wait_for_function(f"document.querySelectorAll('#chat-list li a').length === {expected}")
    titles = page.locator("#chat-list li a").all_inner_texts()
    context.close()
    assert titles == [f"Bulk chat number {n}" for n in range(130)]  # in order, none twice


def test_on_a_phone_the_drawer_scrolls_to_the_oldest_chat_and_sign_out(browser, daphne_server, person, model):
    chats = many_chats(person, model, 40)
    context, page = open_page(browser, daphne_server, PHONE, f"/c/{chats[0].public_id}/")
    assert not layout_facts(page)["pageScrolls"]
    page.click("#toggle-sidebar")
    page.wait_for_timeout(300)  # the drawer slides in
    oldest = page.locator("#chat-list li a", has_text="Bulk chat number 39")
    oldest.scroll_into_view_if_needed()
    assert oldest.is_visible() and oldest.bounding_box()["y"] + oldest.bounding_box()["height"] <= 844
    sign_out = page.get_by_role("button", name="Sign out")
    box = sign_out.bounding_box()
    page.screenshot(path="/tmp/layout-phone-drawer.png")
    assert sign_out.is_visible() and box["y"] >= 0 and box["y"] + box["height"] <= 844
    sign_out.click()
    page.wait_for_url("**/accounts/login/**")
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_failed_reply_reads_as_a_reply_not_as_the_error_banner(browser, daphne_server, person, model, viewport):
    chat = ChatInstance.objects.create(owner=person, chat_model=model, title="Broken model")
    question = Message.objects.create(chat=chat, seq=1, role="user", content="Hello?")
    reply = Message.objects.create(chat=chat, parent=question, seq=2, role="assistant", status="error", content="",
                                   finish_reason="error", error_code="upstream_unreachable",
                                   error_detail="The model server could not be reached.")  # fmt: skip
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=reply)
    context, page = open_page(browser, daphne_server, viewport, f"/c/{chat.public_id}/")
    reply = page.locator(".msg.assistant")
    reply.wait_for()
    style = reply.evaluate("n => { const s = getComputedStyle(n); return [s.display, s.borderTopWidth]; }")
    width = reply.bounding_box()["width"]
    page.screenshot(path=f"/tmp/layout-error-{viewport['width']}.png")
    thumbs = page.locator(".msg.assistant .feedback").count()
    context.close()
    assert style == ["block", "0px"] and width > viewport["width"] * 0.5, (style, width)
    assert thumbs == 0  # nothing to rate


def test_new_chat_saves_nothing_until_its_first_message(browser, daphne_server, person, model, llm):
    """New chat once saved an empty chat on every click, and signing in opened the latest even when empty."""
    empty = ChatInstance.objects.create(owner=person, chat_model=model, title="")
    said = ChatInstance.objects.create(owner=person, chat_model=model, title="Said something")
    Message.objects.create(chat=said, seq=1, role="user", content="Hello")
    ChatInstance.objects.filter(pk=empty.pk).update(updated_at=timezone.now() + timedelta(minutes=1))
    context, page = open_page(browser, daphne_server, DESKTOP)
    assert page.url.endswith(f"/c/{said.public_id}/")  # the latest chat with a message, not the empty one
    for _ in range(2):
        page.click("#new-chat")
        page.wait_for_url("**/new/")
    assert ChatInstance.objects.count() == 2
    llm.script(tokens=["Hi."])
    page.fill("#input", "First words")
    page.press("#input", "Enter")
    page.wait_for_url("**/c/ci_*/")
    page.wait_for_selector(".msg.assistant.complete")
    context.close()
    assert ChatInstance.objects.count() == 3
    assert ChatInstance.objects.get(public_id=page.url.split("/c/")[1].strip("/")).title == "First words"
