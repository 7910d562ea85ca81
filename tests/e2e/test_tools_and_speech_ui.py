"""Tools and speech in the browser: the tool block during and after a turn, a question's options as buttons,
search, and spoken replies."""

from __future__ import annotations

import json
import time

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
    assert "zeppelin" in result.inner_text().lower()  # the chat, titled by its first message
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
    page.click("#stop")  # silences the speech (and stops the reply if it is still streaming)
    page.wait_for_selector("body:not(.speaking)")
    page.wait_for_selector(".msg.assistant.complete, .msg.assistant.interrupted")
    # The setting is kept for this user in this browser.
    page.reload()
    page.wait_for_selector("#speak[aria-pressed='true']")


def _conversation_wav(path):
    """Two questions with silence between them, spoken by piper, as the fake microphone plays them (looped)."""
    import wave

    import numpy as np

    from voice.synthesis.registry import get_speech_engine

    engine = get_speech_engine()
    parts = []
    # Pauses long enough for each reply to be heard out (speaking over it would stop it), and a loop long enough
    # for the test to end conversation mode before the questions come round again.
    for text, pause in (("What is the weather in London tomorrow?", 8.0), ("Should I take an umbrella with me?", 10.0)):
        speech = engine.synthesize(text)
        parts += [speech.samples, np.zeros(int(pause * speech.sample_rate), np.float32)]
        rate = speech.sample_rate
    audio = np.concatenate([np.zeros(int(0.5 * rate), np.float32), *parts])
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def test_conversation_mode_hears_two_questions_and_answers_aloud(
    playwright_instance, daphne_server, person, model, llm, tmp_path
):
    from tests.e2e.conftest import sign_in
    from tests.support.browser import launch_with_microphone

    llm.script(tokens=["Paris ", "is ", "the ", "capital."], delay=0.05)
    llm.script(tokens=["Rome ", "is ", "the ", "capital."], delay=0.05)
    llm.default.tokens = ["Again."]
    wav = tmp_path / "two-questions.wav"
    _conversation_wav(wav)
    browser = launch_with_microphone(playwright_instance, wav, "--autoplay-policy=no-user-gesture-required")
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.grant_permissions(["microphone"], origin=daphne_server.url)
        page = context.new_page()
        sign_in(page, daphne_server)
        start_chat(page)
        # The talk bar's captions: the words of each pause show there before the turn ends.
        page.evaluate("""() => {
            window.captions = [];
            const state = document.querySelector("#talk-state");
            new MutationObserver(() => state.textContent.startsWith("“") && window.captions.push(state.textContent))
                .observe(state, {childList: true, characterData: true, subtree: true});
        }""")
        page.click("#talk")
        page.wait_for_selector("#talk-bar:not([hidden])")
        page.locator(".msg.assistant.complete").nth(1).wait_for(timeout=60_000)
        assert page.evaluate("window.captions.length") >= 1
        # The first words named the chat: the header says so without a reload (it once stayed "New chat").
        page.wait_for_function("document.querySelector('#chat-title').textContent !== 'New chat'", timeout=5000)
        # Both replies are played (the second once the first has finished; its last sentences come just after
        # it is saved, before the turn's end).
        deadline = time.monotonic() + 30
        while int(page.get_attribute("body", "data-played") or 0) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert int(page.get_attribute("body", "data-played") or 0) >= 2
        page.click("#talk")  # conversation mode off: the microphone closes
        page.wait_for_selector("#talk-bar", state="hidden")
        users = page.locator(".msg.user .body").all_inner_texts()
        # Heard through the browser's audio path (48 kHz, resampled in the page): the words mostly survive.
        assert "weather" in users[0].lower() or "london" in users[0].lower(), users
        assert any(word in users[1].lower() for word in ("umbrella", "take", "with")), users
        replies = page.locator(".msg.assistant .body").all_inner_texts()
        # On a loaded machine a reply can still be playing when the next question starts: it is then cut off
        # (barge-in) and keeps what was heard of it.
        assert replies[0].startswith("Paris") and replies[1].startswith("Rome"), replies
        context.close()
    finally:
        browser.close()
    from chat.models import Message

    stored = list(Message.objects.order_by("chat_id", "seq").values_list("role", "source", "status")[:4])
    assert [row[:2] for row in stored] == [("user", "voice"), ("assistant", "text")] * 2
    assert all(status in ("complete", "interrupted") for _, _, status in stored)
