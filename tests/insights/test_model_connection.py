"""The chat models' "Test connection" action (chat/admin.py): one tiny request, the outcome in words."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from chat.models import ChatModel
from tests.admin.conftest import staff_with

pytestmark = pytest.mark.django_db(transaction=True)


def act(client, *models):
    return client.post("/admin/chat/chatmodel/", {"action": "test_connection",
                                                  "_selected_action": [m.pk for m in models]}, follow=True)  # fmt: skip


def test_a_live_model_a_dead_address_and_a_local_model(llm):
    live = ChatModel.objects.create(name="live", base_url=llm.base_url, upstream_model="m")
    dead = ChatModel.objects.create(name="dead", base_url="http://127.0.0.1:9/v1", upstream_model="m")
    local = ChatModel.objects.create(name="local", provider="local")
    client = staff_with("view_chatmodel", "change_chatmodel")
    said = {str(m).split(":")[0]: str(m) for m in get_messages(act(client, live, dead, local).wsgi_request)}
    assert said["live"] == "live: the model answered."
    assert said["dead"].startswith("dead: Could not reach the model server")
    assert "base URL" in said["dead"]  # the advice for the operator
    assert said["local"] == "local: runs in this server's process, nothing to connect to."
    assert [r.body["max_tokens"] for r in llm.chat_requests] == [1]


def test_it_takes_the_change_permission(llm):
    model = ChatModel.objects.create(name="live", base_url=llm.base_url, upstream_model="m")
    act(staff_with("view_chatmodel"), model)
    assert llm.chat_requests == []
