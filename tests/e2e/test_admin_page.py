"""The admin's conversation review page in a real browser, with a voice message."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_review_page_with_a_voice_message(browser, daphne_server, settings, tmp_path):
    from chat.models import ChatModel
    from tests.admin.test_review_desk import make_chat

    get_user_model().objects.create_superuser("reviewer", password="a-long-test-password")
    owner = get_user_model().objects.create_user("dana")
    model = ChatModel.objects.create(name="Qwen2.5 Coder 0.5B (local)", provider="local")
    chat = make_chat(owner, model, "Weather by voice",
                     [("what is the whether in london tomorrow", "Expect **light rain** and 14 °C.")],
                     voice=True, feedback=-1)  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, daphne_server, "reviewer")
    page.goto(f"{daphne_server.url}/admin/chat/chatinstance/{chat.pk}/change/")
    assert page.query_selector("audio[controls]") is not None
    assert "transcription 640 ms" in page.inner_text("#messages-group")
    page.screenshot(path=str(SCREENSHOTS / "admin-review.png"), full_page=True)
    page.goto(f"{daphne_server.url}/admin/chat/chatinstance/")
    assert "Weather by voice" in page.inner_text("#result_list")
    page.close()
