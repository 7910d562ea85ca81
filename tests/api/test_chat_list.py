"""The chat list comes a page at a time, most recently active first, and goes on from any chat of the list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ChatInstance

pytestmark = pytest.mark.django_db(transaction=True)


async def test_pages_of_chats_follow_each_other_without_gaps_or_repeats(api, user, chat_model, other_api):
    now = timezone.now()
    for n in range(7):
        chat = await ChatInstance.objects.acreate(owner=user, chat_model=chat_model, title=f"chat {n}")
        # Two share a time: the order still holds, by id.
        await ChatInstance.objects.filter(pk=chat.pk).aupdate(updated_at=now - timedelta(minutes=min(n, 5)))
    seen, before = [], None
    while True:
        page = (await api.get("/api/chats", {"limit": 3, **({"before": before} if before else {})})).json()
        seen += [chat["title"] for chat in page["chats"]]
        if not (before := page["nextBefore"]):
            break
    assert seen == ["chat 0", "chat 1", "chat 2", "chat 3", "chat 4", "chat 6", "chat 5"]
    # Another user's chat is no cursor for anyone else.
    assert (await other_api.get("/api/chats", {"before": page["chats"][0]["id"]})).status_code == 404
    assert (await api.get("/api/chats", {"before": "ci_\x00"})).status_code == 400
