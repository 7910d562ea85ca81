from django.apps import AppConfig

from chat.domain import extensions


class VoiceConfig(AppConfig):
    name = "voice"
    verbose_name = "Voice"

    def ready(self) -> None:
        # Imported once the app registry is ready, as Django asks: these modules import models.
        from voice.conversation.routing import websocket_urlpatterns
        from voice.extension import RECORDING, SPOKEN, latency_summary
        from voice.synthesis.speaking import speak

        extensions.register(RECORDING)  # chat's messages show their recording without chat naming voice
        extensions.register(SPOKEN)  # and replies can be heard spoken
        extensions.register_admin_summary(latency_summary)
        extensions.register_speaker(speak)  # turns asked to ``speak`` are spoken here
        for route in websocket_urlpatterns:
            extensions.register_websocket_route(route)  # conversation mode
