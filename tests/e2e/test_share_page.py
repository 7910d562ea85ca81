"""A shared link opened by someone else: a fresh browser with no session reads the conversation, on a desktop
and on a phone, under the page's Content-Security-Policy, with or without JavaScript; once revoked, it is gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from chat.models import ChatInstance, Message
from tests.e2e.conftest import SCREENSHOTS, signed_in_page
from tests.e2e.test_page_layout import DESKTOP, PHONE
from voice.models import AudioRecording

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "capital.ogg"
REPLY = """Paris is the capital of France. A few figures:

| City | Population |
|---|---:|
| Paris | 2.1 million |
| Lyon | 0.5 million |

To print it in Python:

```python
print("Paris")
```
"""


@pytest.fixture(autouse=True)
def _recordings_removed():
    yield
    for recording in AudioRecording.objects.all():
        recording.file.delete(save=False)


def conversation(person, model) -> ChatInstance:
    """A chat as people have them: a spoken question with its recording, a reply in markdown, a typed question,
    a reply that used a tool."""
    chat = ChatInstance.objects.create(owner=person, chat_model=model, title="The capital of France")
    rows = [
        ("user", "What is the capital of France?", "voice", []),
        ("assistant", REPLY, "text", []),
        ("user", "What is 17.5% of 2480? https://example.com/a/very/long/link/that/must/wrap/on/a/phone/screen",
         "text", []),
        ("assistant", "It is **434**.", "text",
         [{"id": "c1", "name": "calculator", "arguments": {"expression": "17.5% * 2480"}, "label": "Calculating…",
           "ok": True, "content": "434", "durationMs": 1, "step": 1}]),
    ]  # fmt: skip
    parent = None
    for seq, (role, content, source, tools) in enumerate(rows, start=1):
        parent = Message.objects.create(chat=chat, parent=parent, seq=seq, role=role, content=content,
                                        source=source, tool_calls=tools)  # fmt: skip
        if source == "voice":
            audio = RECORDING.read_bytes()
            AudioRecording.objects.create(
                message=parent, file=ContentFile(audio, name="q.ogg"), format="ogg", content_type="audio/ogg",
                size_bytes=len(audio), duration_ms=1800, language="en", engine="openai-whisper", model_name="base",
                transcription_ms=400,
            )  # fmt: skip
    ChatInstance.objects.filter(pk=chat.pk).update(active_message=parent)
    return chat


def share_as_owner(browser, server, chat) -> dict:
    """The owner makes the link in their signed-in browser, through the API (session and CSRF token)."""
    context, page = signed_in_page(browser, server, bypass_csp=False)
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{server.url}/api/chats/{chat.public_id}/share",
        data=json.dumps({"includeRecordings": True}),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
    )
    assert response.status == 201, response.text()
    made = response.json()
    context.close()
    return made


def open_as_stranger(browser, url, viewport, *, javascript=True):
    """A fresh context: no cookies, no session, the policy enforced. Returns the page and its CSP reports."""
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    return context, page, response, problems


def layout(page) -> dict:
    return page.evaluate("""() => ({
        sideways: document.scrollingElement.scrollWidth > innerWidth,
        users: [...document.querySelectorAll('.msg.user')].map((m) => {
            const box = m.getBoundingClientRect(); return {left: box.left, right: box.right};
        }),
        width: innerWidth,
        styled: getComputedStyle(document.querySelector('.brand')).fontWeight,
    })""")


@pytest.mark.parametrize("viewport,name", [(DESKTOP, "share-desktop.png"), (PHONE, "share-phone.png")])
def test_a_stranger_reads_the_shared_chat(browser, daphne_server, person, model, viewport, name):
    chat = conversation(person, model)
    made = share_as_owner(browser, daphne_server, chat)
    context, page, response, problems = open_as_stranger(browser, made["url"], viewport)
    try:
        assert response.status == 200 and context.cookies() == []  # nothing set for the visitor
        assert page.title() == "The capital of France · Shared chat · Chat server"
        assert page.inner_text(".brand") == "Chat server" and page.inner_text("h1") == "The capital of France"
        meta = page.inner_text(".share-meta")
        assert "shared conversation – read only" in meta and "Shared on" in meta
        assert page.locator(".msg").count() == 4
        assert page.locator(".msg.user").first.inner_text().endswith("What is the capital of France?")
        assert page.locator(".msg.assistant table td").first.inner_text() == "Paris"  # markdown, rendered
        assert page.locator(".msg.assistant pre code").inner_text().strip() == 'print("Paris")'
        assert "calculator" in page.inner_text(".msg.assistant .tools")
        assert page.locator(".msg.assistant strong", has_text="434").count() == 1
        assert "17.5% * 2480" not in page.content()  # a tool's arguments stay private
        # The spoken question's recording plays from the link's own URL.
        src = page.get_attribute("audio", "src")
        assert src == f"/s/{made['id']}/audio/{chat.messages.get(seq=1).public_id}"
        heard = context.request.get(f"{daphne_server.url}{src}")
        assert heard.status == 200 and heard.body() == RECORDING.read_bytes()
        facts = layout(page)
        assert not facts["sideways"], facts  # nothing wider than the screen, the long link included
        assert all(box["left"] >= 0 and box["right"] <= facts["width"] for box in facts["users"]), facts
        assert facts["styled"] == "700"  # app.css applies
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    finally:
        context.close()
    assert problems == []  # no Content-Security-Policy report, no script error, nothing failed to load


def test_the_page_needs_no_javascript_and_is_gone_once_revoked(browser, daphne_server, person, model):
    chat = conversation(person, model)
    made = share_as_owner(browser, daphne_server, chat)
    context, page, response, problems = open_as_stranger(browser, made["url"], PHONE, javascript=False)
    assert response.status == 200 and page.locator(".msg").count() == 4
    assert page.locator(".msg.assistant table").count() == 1 and page.locator("audio[controls]").count() == 1
    assert response.headers["x-robots-tag"].startswith("noindex")
    assert response.headers["referrer-policy"] == "no-referrer"
    context.close()
    assert problems == []

    owner, owner_page = signed_in_page(browser, daphne_server, bypass_csp=False)
    csrf = next(c["value"] for c in owner.cookies() if c["name"] == "csrftoken")
    revoked = owner_page.request.delete(f"{daphne_server.url}/api/shares/{made['id']}", headers={"X-CSRFToken": csrf})
    owner.close()
    assert revoked.status == 204
    context, page, response, _ = open_as_stranger(browser, made["url"], DESKTOP)
    assert response.status == 404 and "This page does not exist" in page.inner_text("main")
    context.close()
