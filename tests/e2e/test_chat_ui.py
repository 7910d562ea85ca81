"""The chat page in a real browser against a real server, with the test LLM paced so streaming shows."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chat.models import Message
from tests.e2e.conftest import SCREENSHOTS, launch, sign_in
from tests.support.browser import launch_with_microphone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
ANSWER = ["Here ", "is ", "**bold** ", "text ", "and ", "`code`", ".\n\n", "```python\n", "print('hi')\n", "```"]


def start_chat(page):
    """A new chat's page (the chat itself is created by its first message)."""
    page.goto("{0.scheme}://{0.netloc}/new/".format(urlsplit(page.url)))
    page.wait_for_selector("#model-select option", state="attached")


def send(page, text):
    page.fill("#input", text)
    page.press("#input", "Enter")


def lengths_while_streaming(page, selector, until, timeout=15):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        length = page.evaluate(f"(document.querySelector({selector!r})?.textContent || '').length")
        if length and (not seen or seen[-1] != length):
            seen.append(length)
        if until():
            break
        time.sleep(0.02)
    return seen


def test_send_and_watch_the_reply_grow_then_render(strict_page, llm):
    page = strict_page
    llm.script(tokens=ANSWER, delay=0.15)
    start_chat(page)
    send(page, "Show me formatting")
    page.wait_for_selector(".msg.assistant")
    lengths = lengths_while_streaming(
        page, ".msg.assistant .body", lambda: page.query_selector(".msg.assistant.complete") is not None
    )
    assert len(set(lengths)) >= 3, lengths
    page.wait_for_selector(".msg.assistant.complete .body strong")
    assert page.inner_text(".msg.assistant .body strong") == "bold"
    assert page.query_selector(".msg.assistant .body pre code") is not None
    assert page.inner_text(".msg.user .body") == "Show me formatting"
    assert page.input_value("#input") == ""
    assert page.inner_text(".msg.assistant .details") == ""  # timings are for staff (test_page_polish.py)
    page.screenshot(path=str(SCREENSHOTS / "chat-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_timeout(500)  # the sidebar slides out of view
    page.screenshot(path=str(SCREENSHOTS / "chat-phone.png"))
    # The chat got its title and is listed in the sidebar; the URL names it.
    assert "Show me formatting" in page.inner_text("#chat-list")
    assert "/c/ci_" in page.url


def test_stop_keeps_a_stopped_partial_answer(page, llm):
    llm.script(tokens=[f"word{i} " for i in range(200)], delay=0.05)
    start_chat(page)
    send(page, "Talk for a long time")
    page.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 20")
    page.click("#stop")
    page.wait_for_selector(".msg.assistant.interrupted")
    assert "stopped" in page.inner_text(".msg.assistant .who")
    partial = page.inner_text(".msg.assistant .body")
    assert partial.startswith("word0 word1") and len(partial) < len("".join(f"word{i} " for i in range(200)))
    page.reload()
    page.wait_for_selector(".msg.assistant.interrupted")
    assert page.inner_text(".msg.assistant .body").strip() == partial.strip()
    assert "stopped" in page.inner_text(".msg.assistant .who")


def test_second_tab_sees_messages_and_a_reload_resumes_the_stream(page, browser, daphne_server, llm):
    llm.script(tokens=[f"t{i} " for i in range(60)], delay=0.05)
    start_chat(page)
    send(page, "Count slowly")
    page.wait_for_url("**/c/ci_*/")  # the first message created the chat
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_load_state("networkidle")
    # The second tab sees the question and the reply growing, without reloading.
    other.wait_for_selector(".msg.user")
    assert other.inner_text(".msg.user .body") == "Count slowly"
    other.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 10")
    # A third view loads mid-reply and picks up the stream where it is.
    other.reload()
    other.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 0")
    first = len(other.inner_text(".msg.assistant .body"))
    other.wait_for_function(f"document.querySelector('.msg.assistant .body').textContent.length > {first + 10}")
    other.wait_for_selector(".msg.assistant.complete", timeout=15000)
    page.wait_for_selector(".msg.assistant.complete")
    expected = "".join(f"t{i} " for i in range(60)).strip()
    assert other.inner_text(".msg.assistant .body").strip() == expected
    assert page.inner_text(".msg.assistant .body").strip() == expected


def test_upstream_error_shows_in_place_and_keeps_the_text(page, llm):
    llm.script(fault="status:500")
    start_chat(page)
    send(page, "This will fail")
    page.wait_for_selector("#error:not([hidden])")
    assert "internal error" in page.inner_text("#error")
    assert page.input_value("#input") == "This will fail"
    llm.script(tokens=["Fine now."])
    page.click("#error .retry")
    page.wait_for_selector(".msg.assistant.complete")
    assert "Fine now." in page.inner_text(".messages")


def test_busy_and_validation_errors_show_and_keep_the_text(page, llm, settings):
    start_chat(page)
    page.evaluate("window.__tooLong = 'x'.repeat(40000)")
    page.evaluate("document.querySelector('#input').value = window.__tooLong")
    page.press("#input", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "too long" in page.inner_text("#error")
    assert len(page.input_value("#input")) == 40000
    assert Message.objects.count() == 0


def test_rename_and_delete_with_confirmation(page, llm):
    start_chat(page)
    send(page, "hello there")
    page.wait_for_selector(".msg.assistant.complete")
    # The page's own dialogs, not the browser's prompt and confirm.
    page.click("#rename-chat")
    page.fill("#rename-input", "Renamed chat")
    page.click("#rename-dialog button[value=ok]")
    page.wait_for_function("document.querySelector('#chat-title').textContent === 'Renamed chat'")
    page.wait_for_function("document.querySelector('#chat-list').textContent.includes('Renamed chat')")
    page.click("#delete-chat")
    page.click("#delete-dialog button[value=cancel]")
    assert page.inner_text("#chat-title") == "Renamed chat"
    page.click("#delete-chat")
    page.click("#delete-dialog button[value=ok]")
    page.wait_for_load_state("networkidle")
    assert "Renamed chat" not in page.inner_text("#chat-list")


@pytest.mark.slow
def test_voice_recording_from_the_microphone(playwright_instance, daphne_server, person, model, llm):
    llm.script(echo=True, delay=0.05)
    wav = AUDIO / "capital.wav"
    browser = launch_with_microphone(playwright_instance, wav)
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 800}, bypass_csp=True)
        context.grant_permissions(["microphone"], origin=daphne_server.url)
        page = context.new_page()
        sign_in(page, daphne_server)
        start_chat(page)
        page.click("#mic")
        page.wait_for_selector("#recording:not([hidden])")
        time.sleep(3.5)  # the fake device plays the clip
        assert page.inner_text("#rec-time") in {"0:03", "0:04"}
        # The message shows the moment it is sent, as being transcribed, until its words come.
        page.evaluate("""() => {
            window.sawTranscribing = false;
            new MutationObserver(() => {
                const line = document.querySelector(".msg.user.pending .status-line");
                if (line && line.textContent === "transcribing…") window.sawTranscribing = true;
            }).observe(document.querySelector("#messages"), {subtree: true, childList: true, characterData: true});
        }""")
        page.click("#mic")
        page.wait_for_function("window.sawTranscribing", timeout=5000)
        page.wait_for_selector(".msg.user .badge.voice", timeout=30000)
        page.wait_for_selector(".msg.assistant.complete", timeout=30000)
        transcript = page.inner_text(".msg.user .body").lower()
        assert "capital" in transcript
        page.screenshot(path=str(SCREENSHOTS / "voice.png"))
        assert len(page.query_selector_all(".msg.user")) == 1, page.inner_html("#messages")  # the placeholder went
        assert not page.query_selector(".msg.pending")
        context.close()
    finally:
        browser.close()


def test_refused_microphone_is_explained(playwright_instance, daphne_server, person, model):
    browser = launch(playwright_instance, "--use-fake-device-for-media-stream", "--deny-permission-prompts")
    try:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        sign_in(page, daphne_server)
        start_chat(page)
        page.click("#mic")
        page.wait_for_selector("#error:not([hidden])")
        assert "Microphone" in page.inner_text("#error") or "microphone" in page.inner_text("#error")
        context.close()
    finally:
        browser.close()


def test_other_tabs_learn_of_a_rename_a_deletion_a_new_title_and_can_stop_a_reply(page, llm):
    """A chat deleted in one tab stayed in the other with no notice, a new title showed only after a reload,
    and a tab that did not send the message had no Stop."""
    llm.script(tokens=[f"w{i} " for i in range(200)], delay=0.05)
    start_chat(page)
    send(page, "Name this chat by me")
    page.wait_for_url("**/c/ci_*/")
    other = page.context.new_page()
    other.goto(page.url)
    # The reply is running: the other tab shows it with a Stop of its own, which ends it.
    other.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 5")
    other.wait_for_selector("#stop:not([hidden])")
    other.click("#stop")
    other.wait_for_selector(".msg.assistant .badge.stopped")
    other.wait_for_selector("#send:not([hidden])")
    other.wait_for_function("document.querySelector('#chat-title').textContent === 'Name this chat by me'")
    # Renamed here: the other tab's header and list follow.
    page.wait_for_selector("#send:not([hidden])")
    page.evaluate("""() => fetch(location.pathname.replace('/c/', '/api/chats/').replace(/\\/$/, ''), {
        method: 'PATCH', headers: {'Content-Type': 'application/json',
        'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]}, body: JSON.stringify({title: 'Renamed'})})""")
    other.wait_for_function("document.querySelector('#chat-title').textContent === 'Renamed'")
    other.wait_for_function("[...document.querySelectorAll('#chat-list a')].some(a => a.textContent === 'Renamed')")
    # Deleted here: the other tab says so and cannot send to it.
    page.click("#delete-chat")
    page.click("#delete-dialog button[value=ok]")
    other.wait_for_selector("#error:not([hidden])")
    assert "deleted" in other.inner_text("#error") and other.is_disabled("#input")
