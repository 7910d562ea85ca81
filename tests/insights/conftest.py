"""A small fixed history whose aggregates are worked out by hand in the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from chat.models import ChatInstance, ChatModel, Feedback, Message
from voice.models import AudioRecording

D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 10)  # a Monday, the Tuesday, the next Tuesday


def at(day: date, hour: int = 12):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def reply(chat, seq, day, *, status="complete", ttft=None, tokens=(None, None), tools=(), error_code="", voice=None):
    """A question (spoken when ``voice`` is a dict of recording fields) and its reply, written on ``day``."""
    question = Message.objects.create(chat=chat, seq=seq, role="user", content=(voice or {}).pop("heard", "Hi"),
                                      source="voice" if voice is not None else "text")  # fmt: skip
    if voice is not None:
        corrected = voice.pop("corrected", "")
        Message.objects.filter(pk=question.pk).update(corrected_content=corrected)
        AudioRecording.objects.create(message=question, file=ContentFile(b"RIFF" + b"\0" * 40, name="a.wav"),
                                      format="wav", content_type="audio/wav", size_bytes=44, duration_ms=2000,
                                      transcription_ms=300, **voice)  # fmt: skip
    answer = Message.objects.create(
        chat=chat, parent=question, seq=seq + 1, role="assistant", content="ok", status=status, ttft_ms=ttft,
        prompt_tokens=tokens[0], completion_tokens=tokens[1], tool_calls=list(tools), error_code=error_code,
        chat_model=chat.chat_model,
    )  # fmt: skip
    Message.objects.filter(pk__in=[question.pk, answer.pk]).update(created_at=at(day))
    return answer


def feedback(message, user, rating, day):
    item = Feedback.objects.create(message=message, user=user, rating=rating)
    Feedback.objects.filter(pk=item.pk).update(created_at=at(day))


@pytest.fixture
def history(db):
    User = get_user_model()
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    m1 = ChatModel.objects.create(name="model-one", provider="local")
    m2 = ChatModel.objects.create(name="model-two", base_url="http://127.0.0.1:9/v1")
    a1 = ChatInstance.objects.create(owner=alice, chat_model=m1)
    reply(
        a1,
        1,
        D1,
        ttft=100,
        tokens=(10, 20),
        tools=[{"name": "calculator", "ok": True}, {"name": "calculator", "ok": False}],
    )
    reply(a1, 3, D1, status="error", error_code="upstream_timeout")
    reply(a1, 5, D1, status="interrupted", ttft=300, tokens=(5, 7))
    b1 = ChatInstance.objects.create(owner=bob, chat_model=m2)
    spoken = reply(b1, 1, D2, ttft=200, tokens=(1, 2), voice={
        "heard": "what is the whether in london", "corrected": "What is the weather in London?",
        "engine": "openai-whisper", "model_name": "base", "language": "en",
        "text_after_ms": 400, "first_token_after_ms": 900, "first_audio_after_ms": 1500})  # fmt: skip
    feedback(spoken, bob, -1, D2)
    a2 = ChatInstance.objects.create(owner=alice, chat_model=m2)
    later = reply(a2, 1, D3, ttft=400, tools=[{"name": "clock", "ok": True}])
    feedback(later, alice, 1, D3)
    return {"alice": alice, "bob": bob, "m1": m1, "m2": m2}
