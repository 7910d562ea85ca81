"""Shaping a conversation in the page, as a person does: edit a question and resend it, regenerate a reply
(with another model too), move between the versions, continue a stopped reply, delete from a message on,
give the chat a system prompt, start one from a preset, pin and archive chats, share one by a link, export
it, import ChatGPT's export; a second tab follows the branch another one moved."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from chat.models import ChatInstance, ChatModel, Message, Preset
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_chat_ui import send, start_chat
from tests.e2e.test_page_layout import DESKTOP, PHONE, open_page

CHATGPT_EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt" / "conversations.json"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def said(page, role: str):
    """The texts of the messages shown, of one role, in order."""
    return [text.strip() for text in page.locator(f".msg.{role} .body").all_inner_texts()]


def ask_and_wait(page, llm, question: str, answer: str) -> None:
    llm.script(tokens=[answer])
    count = page.locator(".msg.assistant.complete").count()
    send(page, question)
    expect(page.locator(".msg.assistant.complete")).to_have_count(count + 1)
    expect(page.locator(".msg.assistant").last.locator(".body")).to_have_text(answer)


def edit(page, message, text: str) -> None:
    message.hover()
    message.locator("[data-action=edit]").click()
    area = message.locator(".edit-form textarea")
    expect(area).to_be_focused()
    area.fill(text)
    message.get_by_role("button", name="Save & send").click()


def second_model(llm) -> ChatModel:
    return ChatModel.objects.create(name="Second model", base_url=llm.base_url, upstream_model="second")


def test_edit_and_resend_makes_a_version_and_the_old_branch_comes_back(strict_page, llm):
    page = strict_page
    start_chat(page)
    ask_and_wait(page, llm, "Capital of France?", "Paris.")
    ask_and_wait(page, llm, "And its river?", "The Seine.")
    # Editing the first question: it opens in place, with its text, and Escape puts it back as it was.
    first = page.locator(".msg.user").first
    first.hover()
    first.locator("[data-action=edit]").click()
    area = first.locator(".edit-form textarea")
    expect(area).to_have_value("Capital of France?")
    area.press("Escape")
    expect(first.locator(".edit-form")).to_have_count(0)
    expect(first.locator("[data-action=edit]")).to_be_focused()
    assert page.locator("#stop").is_hidden()  # Escape cancelled the edit, nothing else
    llm.script(tokens=["Berlin."])
    edit(page, first, "Capital of Germany?")
    expect(page.locator(".msg.assistant.complete .body")).to_have_text(["Berlin."])
    assert said(page, "user") == ["Capital of Germany?"]  # what followed the old question is on the old branch
    question = page.locator(".msg.user").first
    expect(question.locator(".versions .count")).to_have_text("2 / 2")
    # The model saw the new question alone (the edit of the chat's first message starts a new branch).
    assert [m["content"] for m in llm.chat_requests[-1].body["messages"] if m["role"] != "system"] == [
        "Capital of Germany?"
    ]
    # Back to the first version: the old branch, all of it.
    question.get_by_role("button", name="Previous version").click()
    expect(page.locator(".msg.user .body")).to_have_text(["Capital of France?", "And its river?"])
    expect(page.locator(".msg.assistant .body")).to_have_text(["Paris.", "The Seine."])
    expect(page.locator(".msg.user").first.locator(".versions .count")).to_have_text("1 / 2")
    page.reload()  # the server keeps the branch chosen
    expect(page.locator(".msg.assistant .body")).to_have_text(["Paris.", "The Seine."])
    expect(page.locator(".msg.user").first.locator(".versions .count")).to_have_text("1 / 2")
    # Editing a later question keeps what came before it.
    llm.script(tokens=["The Rhône too."])
    edit(page, page.locator(".msg.user").nth(1), "And its other river?")
    expect(page.locator(".msg.assistant.complete .body")).to_have_text(["Paris.", "The Rhône too."])
    sent = [m["content"] for m in llm.chat_requests[-1].body["messages"] if m["role"] != "system"]
    assert sent == ["Capital of France?", "Paris.", "And its other river?"]
    expect(page.locator(".msg.user").nth(1).locator(".versions .count")).to_have_text("2 / 2")


def test_regenerate_and_regenerate_with_another_model(page, llm, model):
    other = second_model(llm)
    start_chat(page)
    ask_and_wait(page, llm, "Tell me a colour", "Red.")
    reply = page.locator(".msg.assistant").last
    assert reply.locator("[data-action=continue]").count() == 0  # a complete reply does not go on
    llm.script(tokens=["Blue."])
    reply.locator("[data-action=regenerate]").click()
    expect(page.locator(".msg.assistant.complete .body")).to_have_text(["Blue."])
    expect(page.locator(".msg.assistant .versions .count")).to_have_text("2 / 2")
    assert said(page, "user") == ["Tell me a colour"]
    # The model was asked the same question again, without the reply it replaces.
    asked = llm.chat_requests[-1].body
    assert [m["content"] for m in asked["messages"] if m["role"] != "system"] == ["Tell me a colour"]
    assert asked["model"] == "m"
    # Another model: a menu of the models, the chat's own marked.
    llm.script(tokens=["Green."])
    button = page.locator(".msg.assistant [data-action=regenerate-with]")
    button.click()
    menu = page.get_by_role("menu", name="Regenerate with")
    expect(menu).to_be_visible()
    assert button.get_attribute("aria-expanded") == "true"
    expect(menu.get_by_role("menuitem")).to_have_text(["Paced test model (this chat's)", "Second model"])
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant.complete .body")).to_have_text(["Green."])
    expect(page.locator(".msg.assistant .versions .count")).to_have_text("3 / 3")
    assert llm.chat_requests[-1].body["model"] == "second"
    assert page.input_value("#model-select") == other.public_id  # the chat answers with it from now on
    assert ChatInstance.objects.get().chat_model == other
    assert Message.objects.filter(role="assistant").count() == 3 and Message.objects.filter(role="user").count() == 1


def test_moving_between_versions_with_the_keyboard(page, llm):
    start_chat(page)
    ask_and_wait(page, llm, "Pick a number", "One.")
    for answer in ("Two.", "Three."):
        llm.script(tokens=[answer])
        page.locator(".msg.assistant [data-action=regenerate]").click()
        expect(page.locator(".msg.assistant.complete .body")).to_have_text([answer])
    reply = page.locator(".msg.assistant")
    expect(reply.locator(".versions")).to_have_attribute("aria-label", "Version 3 of 3")
    assert reply.get_by_role("button", name="Next version").is_disabled()
    reply.get_by_role("button", name="Previous version").focus()
    page.keyboard.press("Enter")
    expect(reply.locator(".body")).to_have_text("Two.")
    expect(reply.get_by_role("button", name="Previous version")).to_be_focused()  # the focus stays on it
    page.keyboard.press("Enter")
    expect(reply.locator(".body")).to_have_text("One.")
    expect(reply.locator(".versions")).to_have_attribute("aria-label", "Version 1 of 3")
    expect(page.locator("#announce")).to_have_text("Version 1 of 3")
    # At the first version, "previous" is disabled: the focus moves to "next".
    expect(reply.get_by_role("button", name="Next version")).to_be_focused()
    page.keyboard.press("Enter")
    expect(reply.locator(".body")).to_have_text("Two.")
    chat = ChatInstance.objects.get()
    assert chat.active_message.content == "Two."
    # The next question follows the version shown.
    ask_and_wait(page, llm, "Double it", "Four.")
    sent = [m["content"] for m in llm.chat_requests[-1].body["messages"] if m["role"] != "system"]
    assert sent == ["Pick a number", "Two.", "Double it"]


def test_continue_a_stopped_reply(page, llm):
    words = [f"word{i} " for i in range(300)]
    llm.script(tokens=words, delay=0.04)
    start_chat(page)
    send(page, "Talk for a long time")
    page.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 30")
    page.click("#stop")
    reply = page.locator(".msg.assistant")
    expect(reply).to_have_class("msg assistant interrupted")
    partial = reply.locator(".body").inner_text().strip()
    llm.script(tokens=["and ", "the ", "end."])
    button = reply.get_by_role("button", name="Continue this reply")
    expect(button).to_be_visible()
    button.click()
    expect(reply).to_have_class("msg assistant complete")
    expect(reply.locator(".body")).to_have_text(f"{partial} and the end.")
    assert reply.locator(".badge.stopped").count() == 0
    assert reply.locator("[data-action=continue]").count() == 0
    assert page.locator(".msg.assistant").count() == 1 and page.locator(".msg.user").count() == 1
    # The model went on from the text it had written (an assistant message last).
    last = llm.chat_requests[-1].body["messages"][-1]
    assert last["role"] == "assistant" and last["content"].strip() == partial
    page.reload()
    expect(page.locator(".msg.assistant .body")).to_have_text(f"{partial} and the end.")


def test_a_second_tab_that_saw_a_reply_stop_follows_its_continuation(page, llm):
    llm.script(tokens=[f"w{i} " for i in range(300)], delay=0.04)
    start_chat(page)
    send(page, "Talk for a long time")
    page.wait_for_url("**/c/ci_*/")
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_function("(document.querySelector('.msg.assistant .body')?.textContent || '').length > 30")
    page.click("#stop")
    expect(other.locator(".msg.assistant")).to_have_class("msg assistant interrupted")
    llm.script(tokens=[f"c{i} " for i in range(40)], delay=0.1)
    page.get_by_role("button", name="Continue this reply").click()
    # While it goes on, the other tab shows it growing (and can stop it).
    expect(other.locator(".msg.assistant")).to_have_class("msg assistant streaming", timeout=3000)
    expect(other.locator(".msg.assistant .body")).to_contain_text("c5", timeout=3000)
    expect(other.locator("#stop")).to_be_visible()
    expect(other.locator(".msg.assistant")).to_have_class("msg assistant complete", timeout=15000)
    assert other.inner_text(".msg.assistant .body") == page.inner_text(".msg.assistant .body")


def test_continue_is_offered_for_a_reply_cut_at_its_length_limit_only_at_the_end(page, llm):
    llm.script(tokens=["Cut ", "short"], finish_reason="length")
    start_chat(page)
    send(page, "Write a lot")
    reply = page.locator(".msg.assistant")
    expect(reply).to_have_class("msg assistant complete")
    expect(reply.get_by_role("button", name="Continue this reply")).to_be_visible()
    ask_and_wait(page, llm, "Never mind", "Fine.")
    expect(reply.first.locator("[data-action=continue]")).to_be_hidden()  # only the branch's last reply goes on


def test_delete_from_a_message_on_with_the_pages_dialog(page, llm):
    start_chat(page)
    ask_and_wait(page, llm, "First question", "First answer.")
    ask_and_wait(page, llm, "Second question", "Second answer.")
    second = page.locator(".msg.user").nth(1)
    second.hover()
    second.get_by_role("button", name="Delete this message and its replies and what follows").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Delete this message?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".msg")).to_have_count(4)
    second.hover()
    second.locator("[data-action=delete]").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".msg")).to_have_count(2)
    assert said(page, "user") == ["First question"] and said(page, "assistant") == ["First answer."]
    left = list(Message.objects.order_by("seq").values_list("content", flat=True))
    assert left == ["First question", "First answer."]
    # The reply next: the chat goes on after the question.
    page.locator(".msg.assistant [data-action=delete]").click()
    expect(dialog.locator("h2")).to_have_text("Delete this reply?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".msg")).to_have_count(1)
    page.reload()
    expect(page.locator(".msg")).to_have_count(1)
    ask_and_wait(page, llm, "Still there?", "Yes.")
    sent = [m["content"] for m in llm.chat_requests[-1].body["messages"] if m["role"] != "system"]
    assert sent == ["First question", "Still there?"]


def test_the_settings_dialog_gives_the_chat_a_system_prompt_and_a_temperature(strict_page, llm, model):
    page = strict_page
    model.system_prompt = "You are the model's default."
    model.save()
    start_chat(page)
    ask_and_wait(page, llm, "Hello", "Hi.")
    assert llm.chat_requests[-1].body["messages"][0] == {"role": "system", "content": "You are the model's default."}
    page.click("#chat-settings")
    dialog = page.locator("#settings-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#system-prompt")).to_be_focused()
    page.fill("#system-prompt", "Answer like a pirate.")
    page.fill("#temperature", "0.4")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#chat-settings")).to_have_class("icon chat-settings set")
    ask_and_wait(page, llm, "Where is the treasure?", "Arr.")
    body = llm.chat_requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
    assert body["temperature"] == 0.4
    chat = ChatInstance.objects.get()
    assert (chat.system_prompt, chat.temperature) == ("Answer like a pirate.", 0.4)
    # Opened again, it shows them; emptied, the model's own prompt is back.
    page.click("#chat-settings")
    expect(page.locator("#system-prompt")).to_have_value("Answer like a pirate.")
    expect(page.locator("#temperature")).to_have_value("0.4")
    page.fill("#system-prompt", "")
    page.fill("#temperature", "")
    page.press("#temperature", "Enter")  # Enter saves
    expect(dialog).to_be_hidden()
    expect(page.locator("#chat-settings")).to_have_class("icon chat-settings")
    ask_and_wait(page, llm, "Again", "Hi again.")
    assert llm.chat_requests[-1].body["messages"][0]["content"] == "You are the model's default."


def test_a_new_chat_starts_with_the_settings_and_presets_chosen_before_its_first_message(page, llm, model):
    other = second_model(llm)
    start_chat(page)
    # On a new chat's page: settings, saved as a preset with the model picked in the header.
    page.select_option("#model-select", other.public_id)
    page.click("#chat-settings")
    page.fill("#system-prompt", "You translate into French.")
    page.fill("#temperature", "0.2")
    page.click(".save-preset summary")
    page.fill("#preset-name", "Translator")
    page.click("#save-preset")
    expect(page.locator("#settings-status")).to_have_text("Saved as the preset “Translator”.")
    expect(page.locator("#preset-select")).to_have_value(Preset.objects.get().public_id)
    page.locator("#settings-dialog").get_by_role("button", name="Cancel").click()
    preset = Preset.objects.get()
    assert (preset.name, preset.system_prompt, preset.temperature, preset.chat_model) == (
        "Translator", "You translate into French.", 0.2, other,
    )  # fmt: skip
    assert ChatInstance.objects.count() == 0  # nothing saved but the preset
    # Another new chat, from the preset: its model, prompt and temperature.
    page.goto(page.url)
    page.wait_for_selector("#model-select option", state="attached")
    assert page.input_value("#model-select") == model.public_id
    page.click("#chat-settings")
    page.select_option("#preset-select", label="Translator")
    expect(page.locator("#system-prompt")).to_have_value("You translate into French.")
    page.locator("#settings-dialog").get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#draft-note")).to_have_text("This chat starts from the preset “Translator”.")
    assert page.input_value("#model-select") == other.public_id
    ask_and_wait(page, llm, "Good morning", "Bonjour.")
    body = llm.chat_requests[-1].body
    assert body["model"] == "second" and body["temperature"] == 0.2
    assert body["messages"][0] == {"role": "system", "content": "You translate into French."}
    chat = ChatInstance.objects.get()
    assert (chat.system_prompt, chat.temperature, chat.chat_model) == ("You translate into French.", 0.2, other)
    expect(page.locator("#chat-settings")).to_have_class("icon chat-settings set")


def test_pinned_chats_come_first_and_archived_ones_hide_behind_a_link(strict_page, daphne_server, model, person):
    page = strict_page
    for title in ("Oldest", "Middle", "Newest"):
        chat = ChatInstance.objects.create(owner=person, chat_model=model, title=title)
        Message.objects.create(chat=chat, seq=1, role="user", content="hi")
    middle = ChatInstance.objects.get(title="Middle")
    page.goto(f"{daphne_server.url}/c/{middle.public_id}/")
    links = page.locator("#chat-list li a")
    expect(links).to_have_text(["Newest", "Middle", "Oldest"])
    # Pinned from the chat's menu: first, under "Pinned", with a pin.
    page.click("#chat-menu-button")
    menu = page.get_by_role("menu", name="Chat actions")
    expect(menu.get_by_role("menuitem")).to_have_text(
        ["Pin to the top", "Archive", "Share…", "Export as Markdown", "Export as JSON"]
    )
    menu.get_by_role("menuitem", name="Pin to the top").click()
    expect(links).to_have_text(["Middle (pinned)", "Newest", "Oldest"])
    expect(page.locator("#chat-list li.group").first).to_have_text("Pinned")
    assert page.locator("#chat-list li a svg.pin").count() == 1
    assert ChatInstance.objects.get(pk=middle.pk).pinned
    page.click("#chat-menu-button")
    expect(page.get_by_role("menuitem").first).to_have_text("Unpin")
    page.keyboard.press("Escape")  # the menu closes, the focus goes back to its button
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(page.locator("#chat-menu-button")).to_be_focused()
    # Archived: out of the list, behind "Archived chats", and back again.
    page.click("#chat-menu-button")
    page.get_by_role("menuitem", name="Archive").click()
    expect(links).to_have_text(["Newest", "Oldest"])
    expect(page.locator("#chat-archived")).to_be_visible()
    page.click("#show-archived")
    archived = page.locator("#archived-list li a")
    expect(archived).to_have_text(["Middle (pinned)"])
    assert page.locator("#chat-list").is_hidden()
    page.get_by_role("button", name="Unarchive Middle").click()
    expect(page.locator("#archived-list")).to_contain_text("No archived chats.")
    page.click("#show-archived")  # "Back to chats"
    expect(links).to_have_text(["Middle (pinned)", "Newest", "Oldest"])
    expect(page.locator("#chat-archived")).to_be_hidden()


def test_a_second_tab_follows_an_edit_a_regenerated_reply_and_a_deletion(page, llm):
    start_chat(page)
    ask_and_wait(page, llm, "Name a fruit", "Apple.")
    ask_and_wait(page, llm, "Another", "Pear.")
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator(".msg.assistant .body")).to_have_text(["Apple.", "Pear."])
    # An edit here: the other tab shows the new branch and its versions, without a reload.
    llm.script(tokens=["Banana ", "split."], delay=0.1)
    edit(page, page.locator(".msg.user").first, "Name a dessert")
    expect(other.locator(".msg.user .body")).to_have_text(["Name a dessert"])
    expect(other.locator(".msg.assistant.complete .body")).to_have_text(["Banana split."])
    expect(other.locator(".msg.user .versions .count")).to_have_text("2 / 2")
    # A reply regenerated here: the other tab follows it as it streams.
    expect(page.locator(".msg.assistant.complete")).to_have_count(1)
    llm.script(tokens=[f"c{i} " for i in range(30)], delay=0.05)
    page.locator(".msg.assistant [data-action=regenerate]").click()
    other.wait_for_function("(document.querySelector('.msg.assistant.streaming .body')?.textContent || '').length > 5")
    expect(other.locator(".msg.assistant")).to_have_count(1)  # the old reply is on another branch now
    expect(other.locator(".msg.assistant.complete .body")).to_have_text(
        " ".join(f"c{i}" for i in range(30)), timeout=15000
    )
    expect(other.locator(".msg.assistant .versions .count")).to_have_text("2 / 2")
    # Another version chosen here: the other tab shows it.
    page.locator(".msg.user").get_by_role("button", name="Previous version").click()
    expect(other.locator(".msg.assistant .body")).to_have_text(["Apple.", "Pear."])
    expect(page.locator(".msg.assistant .body")).to_have_text(["Apple.", "Pear."])
    # Deleted here: gone there.
    page.locator(".msg.assistant").last.locator("[data-action=delete]").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(other.locator(".msg.assistant .body")).to_have_text(["Apple."])
    other.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_branch_switcher_on_a_desktop_and_a_phone(browser, daphne_server, person, model, llm, viewport):
    chat = ChatInstance.objects.create(owner=person, chat_model=model, title="Versions of a poem")
    first = Message.objects.create(chat=chat, seq=1, role="user", content="Write a poem about rain.")
    Message.objects.create(chat=chat, parent=first, seq=2, role="assistant", content="Rain falls. The end.")
    question = Message.objects.create(chat=chat, seq=3, role="user", content="Write a two-line poem about rain.")
    replies = [
        "Soft rain on the roof,\nthe garden drinks and sighs.",
        "Grey threads from the sky\nstitch the puddles to the street.",
        "It rains; the cat sulks,\nthe snails throw a party.",
    ]
    for seq, text in enumerate(replies, start=4):
        reply = Message.objects.create(chat=chat, parent=question, seq=seq, role="assistant", content=text)
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=reply)
    context, page = open_page(browser, daphne_server, viewport, f"/c/{chat.public_id}/")
    reply = page.locator(".msg.assistant")
    expect(page.locator(".msg.user .versions .count")).to_have_text("2 / 2")  # the question was edited
    expect(reply.locator(".versions .count")).to_have_text("3 / 3")
    reply.get_by_role("button", name="Previous version").click()
    expect(reply.locator(".body")).to_contain_text("Grey threads")
    expect(reply.locator(".versions .count")).to_have_text("2 / 3")
    reply.locator(".body").hover()
    name = "desktop" if viewport == DESKTOP else "phone"
    page.screenshot(path=str(SCREENSHOTS / f"branches-{name}.png"))
    # Everything fits: the row of buttons inside the message, nothing wider than the page.
    facts = page.evaluate("""() => {
        const row = document.querySelector('.msg.assistant .actions').getBoundingClientRect();
        const list = document.querySelector('#messages').getBoundingClientRect();
        const pageWide = document.scrollingElement.scrollWidth > innerWidth;
        return {rowRight: row.right, listRight: list.right, pageWide};
    }""")
    context.close()
    assert facts["rowRight"] <= facts["listRight"] and not facts["pageWide"], facts


def test_share_a_chat_by_a_link_anyone_can_read_then_revoke_it(strict_page, browser, llm):
    page = strict_page
    start_chat(page)
    ask_and_wait(page, llm, "What is a haiku?", "A short poem in three lines.")
    page.click("#chat-menu-button")
    page.get_by_role("menuitem", name="Share…").click()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#share-none")).to_be_visible()
    dialog.get_by_role("button", name="Create a link").click()
    url = page.locator("#share-url")
    expect(url).to_be_visible()
    link = url.input_value()
    assert "/s/sh_" in link
    expect(dialog.locator("#share-list .share")).to_have_count(1)
    expect(dialog.locator("#share-list .url")).to_have_text(link)
    assert "with recordings" not in dialog.locator("#share-list").inner_text()
    # Opened by someone with no session: the conversation, read-only.
    stranger = browser.new_context()
    reader = stranger.new_page()
    response = reader.goto(link)
    assert response.status == 200
    expect(reader.locator(".msg.assistant .body")).to_have_text("A short poem in three lines.")
    expect(reader.locator(".msg.user .body")).to_have_text("What is a haiku?")
    # A second link, with recordings; then the first revoked: its page is gone, the other stays.
    page.check("#share-recordings")
    dialog.get_by_role("button", name="Create a link").click()
    expect(dialog.locator("#share-list .share")).to_have_count(2)
    expect(dialog.locator("#share-list .share").first).to_contain_text("with recordings")
    dialog.locator("#share-list .share").filter(has_text=link).get_by_role("button", name="Revoke", exact=False).click()
    expect(dialog.locator("#share-list .share")).to_have_count(1)
    expect(page.locator("#share-status")).to_have_text("Link revoked: it opens nothing any more.")
    assert reader.goto(link).status == 404
    stranger.close()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_export_a_chat_as_markdown_and_json(page, llm):
    start_chat(page)
    ask_and_wait(page, llm, "Export me", "Exported.")
    for name, check in (("Export as Markdown", "Export me"), ("Export as JSON", '"Exported."')):
        page.click("#chat-menu-button")
        with page.expect_download() as download:
            page.get_by_role("menuitem", name=name).click()
        path = download.value.path()
        with open(path, encoding="utf-8") as file:
            text = file.read()
        assert check in text, text[:500]
        assert download.value.suggested_filename in ("export-me.md", "export-me.json")


def test_import_chatgpt_conversations_from_the_sidebar(strict_page, llm):
    page = strict_page
    start_chat(page)
    page.click("#import-chats")
    dialog = page.locator("#import-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Import").click()  # no file yet
    expect(page.locator("#import-status")).to_have_text("Choose the export's zip or its conversations.json first.")
    broken = {"name": "conversations.json", "mimeType": "application/json", "buffer": b'[{"mapping": 5}]'}
    page.set_input_files("#import-file", files=[broken])
    dialog.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_have_class("status form-error")
    assert "mapping" in page.inner_text("#import-status")
    assert ChatInstance.objects.count() == 0  # a bad file imports nothing
    page.set_input_files("#import-file", str(CHATGPT_EXPORT))
    dialog.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Imported")
    expect(page.locator("#chat-list")).to_contain_text("Lisbon in März ☕")
    dialog.get_by_role("link", name="Lisbon in März ☕").click()
    # The branch shown in ChatGPT is the one shown here, with the other versions a click away.
    expect(page.locator(".msg.user .body").last).to_have_text("What about a day trip to Sintra? 🏰")
    expect(page.locator(".msg.user").last.locator(".versions .count")).to_have_text("2 / 2")
    expect(page.locator(".msg.assistant").first.locator(".versions .count")).to_have_text("2 / 2")
