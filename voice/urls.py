from django.urls import path

from voice.http import views

app_name = "voice"

urlpatterns = [
    path("api/chat/voice", views.voice_turn_view, name="voice-turn"),
    path("api/messages/<str:message_id>/audio", views.message_audio_view, name="message-audio"),
    path("api/messages/<str:message_id>/speech", views.message_speech_view, name="message-speech"),
]
