from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    verbose_name = "Voice"

    def ready(self) -> None:
        from chat.domain import extensions
        from voice.extension import RECORDING, SPOKEN, latency_summary
        from voice.speaking import speak

        extensions.register(RECORDING)  # chat's messages show their recording without chat naming voice
        extensions.register(SPOKEN)  # and replies can be heard spoken
        extensions.register_admin_summary(latency_summary)
        extensions.register_speaker(speak)  # turns asked to ``speak`` are spoken here
        from django.urls import re_path

        from voice.conversation import ConversationConsumer

        extensions.register_websocket_route(
            re_path(r"^ws/chats/(?P<chat_id>ci_[A-Za-z0-9]+)/voice/$", ConversationConsumer.as_asgi())
        )
