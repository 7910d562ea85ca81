"""A chat model's connection in the admin: where the server connects (``base_url``) and which environment
variable holds the key (``api_key_env``) are changed only with their own permission and only to allowed values,
and a row that names a forbidden variable anyway (written around the admin) sends no key upstream."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chat.models import ChatModel, Message
from tests.admin.conftest import staff_with
from tests.conftest import post_turn, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


def model_form(chat_model: ChatModel, **changes) -> dict:
    form = {"name": chat_model.name, "provider": chat_model.provider, "base_url": chat_model.base_url,
            "upstream_model": chat_model.upstream_model, "api_key_env": chat_model.api_key_env,
            "local_path": chat_model.local_path, "system_prompt": "", "temperature": "0.7", "max_tokens": "",
            "is_active": "on"}  # fmt: skip
    return {**form, **changes}


def test_changing_a_models_connection_needs_the_connection_permission(chat_model):
    client = staff_with("change_chatmodel", "view_chatmodel")
    url, base_url = f"/admin/chat/chatmodel/{chat_model.pk}/change/", chat_model.base_url
    page = client.get(url)
    assert page.status_code == 200 and 'name="base_url"' not in page.content.decode()
    response = client.post(url, model_form(chat_model, base_url="http://127.0.0.1:9100/v1",
                                           api_key_env="DJANGO_SECRET_KEY", system_prompt="changed"))  # fmt: skip
    assert response.status_code == 302
    chat_model.refresh_from_db()
    assert chat_model.system_prompt == "changed"  # what the permission does allow
    assert chat_model.api_key_env == "" and chat_model.base_url == base_url


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("api_key_env", "DJANGO_SECRET_KEY", False),
        ("api_key_env", "PATH", False),
        ("api_key_env", "LLM_KEY_OPENAI", True),
        ("api_key_env", "OPENAI_API_KEY", True),
        ("base_url", "file:///etc/passwd", False),
        ("base_url", "gopher://127.0.0.1:70/", False),
        ("base_url", "https://api.example.com/v1", True),
        ("base_url", "http://ollama:11434/v1", True),
        ("base_url", "http://:80/v1", False),
    ],
)
def test_connection_fields_are_validated(chat_model, field, value, ok):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    response = client.post(f"/admin/chat/chatmodel/{chat_model.pk}/change/", model_form(chat_model, **{field: value}))
    assert (response.status_code == 302) is ok
    chat_model.refresh_from_db()
    assert (getattr(chat_model, field) == value) is ok


async def test_a_model_row_naming_a_forbidden_variable_sends_no_key(api, chat, llm, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "the-real-secret")
    await ChatModel.objects.filter(pk=chat.chat_model_id).aupdate(api_key_env="DJANGO_SECRET_KEY")  # around the admin
    events, _ = await read_stream(await post_turn(api, chat))
    assert [e["type"] for e in events][-2:] == ["error", "stream_end"]
    assert events[-2]["code"] == "api_key_env_refused"
    assert not any("the-real-secret" in str(r.headers) for r in llm.requests)
    assert await Message.objects.filter(chat=chat, role="user").aexists()  # the message is kept
