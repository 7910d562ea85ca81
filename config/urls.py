from django.contrib import admin
from django.urls import include, path

from chat.http import pages, v1
from chat.http.views import healthz, readyz
from voice.http import shares as voice_shares
from voice.http import v1 as voice_v1

# The API first: Django tries the patterns in order on every request.
urlpatterns = [
    path("", include("chat.urls")),
    path("", include("voice.urls")),
    path("v1/chat/completions", v1.chat_completions_view, name="v1-chat-completions"),
    path("v1/models", v1.models_view, name="v1-models"),
    path("v1/models/<str:model_id>", v1.model_detail_view, name="v1-model"),
    path("v1/audio/transcriptions", voice_v1.transcriptions_view, name="v1-transcriptions"),
    path("v1/audio/speech", voice_v1.speech_view, name="v1-speech"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", pages.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", pages.home, name="home"),
    path("new/", pages.new_chat, name="new-chat"),
    path("c/<str:chat_id>/", pages.chat_page, name="chat-page"),
    # Shared links: open to anyone who has one, no sign-in.
    path("s/<str:share_id>/", pages.share_page, name="share-page"),
    path("s/<str:share_id>/audio/<str:message_id>", voice_shares.shared_audio_view, name="share-audio"),
]
