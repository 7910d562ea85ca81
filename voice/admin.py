from django.contrib import admin

from audit.services import audit_admin_view
from voice.extension import player_html
from voice.models import AudioRecording


@admin.register(AudioRecording)
class AudioRecordingAdmin(admin.ModelAdmin):
    list_display = ("message", "format", "duration_s", "language", "engine", "model_name", "transcription_ms",
                    "created_at")  # fmt: skip
    list_filter = ("format", "language", "engine", "model_name")
    list_select_related = ("message",)
    search_fields = ("message__public_id", "message__content")
    fields = ("message", "player", "format", "content_type", "size_bytes", "duration_ms", "language", "engine",
              "model_name", "transcription_ms", "created_at")  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        audit_admin_view(request=request, response=response)  # who listened to whose recording
        return response

    @admin.display(description="Duration (s)", ordering="duration_ms")
    def duration_s(self, recording):
        return f"{recording.duration_ms / 1000:.1f}"

    @admin.display(description="Recording")
    def player(self, recording):
        return player_html(recording.message.public_id)
