"""Tools and speech in the browser: the tool block during and after a turn, a question's options as buttons,
search, and spoken replies."""

from __future__ import annotations

import json

import pytest

from chat.models import ChatModel
from tests.e2e.test_chat_ui import send, start_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def model(transactional_db, llm):
    return ChatModel.objects.create(
        name="Tool test model", base_url=llm.base_url, upstream_model="m", tools=["calculator", "ask_user"]
    )


def tool_call(name, arguments):
    return {"id": "call_1", "name": name, "arguments": json.dumps(arguments)}


def test_a_tool_call_shows_as_a_block_that_opens_and_survives_a_reload(strict_page, llm):
    page = strict_page
    llm.script(tokens=[], tool_calls=[tool_call("calculator", {"expression": "6 * 7"})], delay=0.05)
    llm.script(tokens=["The ", "answer ", "is ", "42."], delay=0.05)
    start_chat(page)
    send(page, "What is six times seven?")
    page.wait_for_selector(".msg.assistant.complete")
    block = page.locator(".msg.assistant .tool-call")
    assert block.count() == 1
    assert "calculator" in block.inner_text() and "✓" in block.inner_text()
    block.locator("summary").click()
    assert "6 * 7" in block.locator(".tool-args").inner_text()
    assert "42" in block.locator(".tool-result").inner_text()
    assert page.inner_text(".msg.assistant .body") == "The answer is 42."
    page.reload()
    page.wait_for_selector(".msg.assistant.complete .tool-call.ok")
    assert "calculator" in page.inner_text(".msg.assistant .tool-call summary")


def test_clicking_an_option_of_a_question_sends_it(strict_page, llm):
    page = strict_page
    question = {"question": "Which Paris?", "options": ["Paris, France", "Paris, Texas"]}
    llm.script(tokens=[], tool_calls=[tool_call("ask_user", question)])
    llm.script(tokens=["Sunny ", "in ", "France."])
    start_chat(page)
    send(page, "Weather in Paris?")
    page.wait_for_selector(".msg.assistant .clarify button")
    assert page.inner_text(".msg.assistant .body") == "Which Paris?"
    assert page.locator(".clarify button").all_inner_texts() == ["Paris, France", "Paris, Texas"]
    page.click(".clarify button[data-option='Paris, France']")
    page.locator(".msg.assistant.complete").nth(1).wait_for()
    users = page.locator(".msg.user .body").all_inner_texts()
    assert users == ["Weather in Paris?", "Paris, France"]
    assert page.locator(".clarify").count() == 0
    assert llm.chat_requests[-1].body["messages"][-1] == {"role": "user", "content": "Paris, France"}


def test_the_sidebar_search_finds_an_earlier_chat(strict_page, llm):
    page = strict_page
    llm.script(tokens=["Noted."])
    start_chat(page)
    send(page, "Remember the word zeppelin")
    page.wait_for_selector(".msg.assistant.complete")
    page.fill("#search", "zeppe")
    page.wait_for_selector("#search-results:not([hidden]) a")
    result = page.locator("#search-results a").first
    assert "zeppelin" in result.inner_text() and result.locator("mark").inner_text().lower() == "zeppelin"
    result.click()
    page.wait_for_url("**/c/ci_*/**")
    page.fill("#search", "")
    page.wait_for_selector("#search-results", state="hidden")


def test_spoken_replies_play_when_the_setting_is_on(strict_page, llm):
    page = strict_page
    llm.script(tokens=["Hello ", "there. ", "This ", "is ", "spoken."], delay=0.3)
    start_chat(page)
    page.click("#speak")
    assert page.get_attribute("#speak", "aria-pressed") == "true"
    send(page, "Say something")
    page.wait_for_selector("body.speaking", timeout=20_000)  # a sentence's audio is playing
    assert page.locator("#stop").is_visible()  # and Stop silences it
    page.click("#stop")
    page.wait_for_selector("body:not(.speaking)")
    page.wait_for_selector(".msg.assistant.complete")
    # The setting is kept for this user in this browser.
    page.reload()
    page.wait_for_selector("#speak[aria-pressed='true']")
