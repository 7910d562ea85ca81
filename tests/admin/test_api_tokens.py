"""API tokens minted in the admin: staff who may add tokens mint them for themselves only, whoever the form
names; superusers may mint them for others. (Tokens in use, revoked, and minted by ``manage.py
create_api_token``: tests/api/test_chats_and_auth.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chat.models import ApiToken
from tests.admin.conftest import staff_with

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_who_may_add_tokens_mint_them_only_for_themselves():
    boss = get_user_model().objects.create_superuser("boss", password="pw")
    client = staff_with("add_apitoken", "view_apitoken")
    response = client.post("/admin/chat/apitoken/add/", {"user": boss.pk, "name": "mine now"})
    assert response.status_code == 302
    token = ApiToken.objects.get(name="mine now")
    assert token.user.username == "narrow"
    assert not ApiToken.objects.filter(user=boss).exists()


def test_superusers_may_mint_tokens_for_others(user):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw"))
    assert client.post("/admin/chat/apitoken/add/", {"user": user.pk, "name": "for alice"}).status_code == 302
    assert ApiToken.objects.get(name="for alice").user == user
