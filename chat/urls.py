from django.urls import path

from chat.http import presets, views
from chat.http.imports import imports_view
from chat.http.shares import chat_export_view, chat_share_view, chat_shares_view, share_detail_view, shares_view

app_name = "chat"

urlpatterns = [
    path("api/chat", views.chat_turn_view, name="chat-turn"),
    path("api/models", views.models_view, name="models"),
    path("api/chats", views.chats_view, name="chats"),
    path("api/search", views.search_view, name="search"),
    path("api/imports", imports_view, name="imports"),
    path("api/chats/<str:chat_id>", views.chat_detail_view, name="chat-detail"),
    path("api/chats/<str:chat_id>/messages", views.chat_messages_view, name="chat-messages"),
    path("api/chats/<str:chat_id>/stop", views.chat_stop_view, name="chat-stop"),
    path("api/chats/<str:chat_id>/events", views.chat_events_view, name="chat-events"),
    path("api/messages/<str:message_id>", views.message_delete_view, name="message-detail"),
    path("api/messages/<str:message_id>/feedback", views.message_feedback_view, name="message-feedback"),
    path("api/presets", presets.presets_view, name="presets"),
    path("api/presets/<str:preset_id>", presets.preset_detail_view, name="preset-detail"),
    path("api/chats/<str:chat_id>/share", chat_share_view, name="chat-share"),
    path("api/chats/<str:chat_id>/shares", chat_shares_view, name="chat-shares"),
    path("api/chats/<str:chat_id>/export", chat_export_view, name="chat-export"),
    path("api/shares", shares_view, name="shares"),
    path("api/shares/<str:share_id>", share_detail_view, name="share-detail"),
]
