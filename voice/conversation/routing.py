"""Conversation mode's websocket route, served behind chat's authentication and Origin check."""

from __future__ import annotations

from django.urls import re_path

from voice.conversation.consumer import ConversationConsumer

websocket_urlpatterns = [
    re_path(r"^ws/chats/(?P<chat_id>ci_[A-Za-z0-9]+)/voice/$", ConversationConsumer.as_asgi()),
]
