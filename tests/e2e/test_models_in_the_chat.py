"""An admin chooses the default model (a broken model added later is not preselected for new users), and the
chat's model is shown and switched in the chat itself."""

from __future__ import annotations

import pytest

from chat.models import ChatModel
from tests.e2e.test_chat_ui import send, start_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_the_admins_default_is_preselected_and_the_chat_switches_models(page, llm, model):
    ChatModel.objects.create(name="AAA broken model", base_url="http://127.0.0.1:9/v1", upstream_model="broken")
    other = ChatModel.objects.create(name="Second model", base_url=llm.base_url, upstream_model="second")
    model.is_default = True
    model.save()
    start_chat(page)
    assert page.input_value("#model-select") == model.public_id  # not the alphabetical first
    llm.script(tokens=["One."])
    send(page, "First")
    page.wait_for_selector(".msg.assistant.complete")
    assert llm.chat_requests[-1].body["model"] == "m"
    page.select_option("#model-select", other.public_id)
    page.wait_for_timeout(300)
    llm.script(tokens=["Two."])
    send(page, "Second")
    page.wait_for_function("document.querySelectorAll('.msg.assistant.complete').length === 2")
    assert llm.chat_requests[-1].body["model"] == "second"
    page.reload()
    page.wait_for_selector(".msg.assistant.complete")
    assert page.input_value("#model-select") == other.public_id
    # One default at a time.
    other.is_default = True
    other.save()
    assert list(ChatModel.objects.filter(is_default=True)) == [other]
