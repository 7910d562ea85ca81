"""What a transcription may ask for, on /v1/audio/transcriptions and POST /api/chat/voice: only a model the
server offers (the engines' side of it: test_registry.py) and only a language Whisper knows; anything else is a
clear 400 and saves nothing."""

from __future__ import annotations

import pytest

from chat.models import Message
from tests.support.audio import AUDIO, audio

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "model", ["/etc/passwd", str(AUDIO / "capital.wav"), "faster-whisper:/tmp", "large-v3", "openai-whisper:medium",
              "Systran/faster-whisper-large-v3", "faster-whisper:openai/whisper-tiny"],
)  # fmt: skip
async def test_transcription_model_outside_the_offered_list_is_refused(api, model):
    response = await api.post("/v1/audio/transcriptions", {"model": model, "file": audio("capital.wav")})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and "whisper-1" in error["message"]


async def test_unknown_language_is_a_400_on_both_voice_endpoints(api, chat):
    fields = {"chatInstanceId": chat.public_id, "chatModelId": chat.chat_model.public_id, "language": "zz"}
    turn = await api.post("/api/chat/voice", {"audio": audio("capital.wav"), **fields})
    v1 = await api.post(
        "/v1/audio/transcriptions", {"model": "whisper-1", "file": audio("capital.wav"), "language": "zz"}
    )
    for response in (turn, v1):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_language"
    assert not await Message.objects.filter(chat=chat).aexists()
