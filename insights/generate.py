"""A realistic history for the dashboard's benchmark: people, chats, turns (text and voice), failures, tool
calls, feedback and corrected transcripts over a span of days, written with bulk inserts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from chat.models import ChatInstance, ChatModel, Feedback, Message
from voice.models import AudioRecording

QUESTIONS = [
    "what is the weather in london tomorrow",
    "tell me a joke about cats",
    "how do I sort a list in python",
    "what is the capital of france",
    "summarise this article for me",
    "translate good morning into french",
]
MISHEARD = {"weather": "whether", "cats": "cuts", "sort": "short", "capital": "capitol", "article": "particle"}
ERRORS = ["upstream_timeout", "upstream_error", "rate_limited", "context_too_long"]
TOOLS = ["calculator", "clock", "search_chats", "fetch_url"]


@contextmanager
def _writable_timestamps(*models: type) -> Iterator[None]:
    """Bulk inserts keep the ``created_at`` given (the field would stamp the time of the insert)."""
    fields = [model._meta.get_field("created_at") for model in models]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


def _turn(rng: random.Random, chat: ChatInstance, model: ChatModel, seq: int, parent_id: int | None, next_id: int,
          when) -> tuple[list, list, list]:  # fmt: skip
    """A question and its reply (with their ids given), the recording of a spoken question, and any feedback."""
    voice = rng.random() < 0.2
    heard = question = rng.choice(QUESTIONS)
    corrected = ""
    if voice and rng.random() < 0.05:
        word = rng.choice([w for w in MISHEARD if w in question] or ["the"])
        heard = question.replace(word, MISHEARD.get(word, "a"), 1)
        corrected = question
    status, code = "complete", ""
    roll = rng.random()
    if roll < 0.03:
        status, code = "error", rng.choice(ERRORS)
    elif roll < 0.05:
        status = "interrupted"
    tools = [
        {"name": rng.choice(TOOLS), "ok": rng.random() > 0.1} for _ in range(rng.random() < 0.1 and rng.randint(1, 3))
    ]
    ask = Message(id=next_id, chat=chat, parent_id=parent_id, seq=seq, role="user", content=heard,
                  source="voice" if voice else "text", corrected_content=corrected, created_at=when)  # fmt: skip
    answer = Message(
        id=next_id + 1, chat=chat, parent_id=next_id, seq=seq + 1, role="assistant", content="An answer.",
        status=status, chat_model=model, error_code=code, tool_calls=tools, created_at=when + timedelta(seconds=2),
        prompt_tokens=rng.randint(20, 2000), completion_tokens=rng.randint(5, 800) if status != "error" else 0,
        ttft_ms=int(rng.lognormvariate(6, 0.5)) if status != "error" else None, completed_at=when,
    )  # fmt: skip
    audio = []
    if voice:
        audio.append(AudioRecording(
            message_id=next_id, file="audio/generated.webm", format="webm", content_type="audio/webm",
            size_bytes=32_000, duration_ms=rng.randint(1000, 8000), language="en", engine="faster-whisper",
            model_name=rng.choice(["tiny.en", "base"]), transcription_ms=rng.randint(200, 900), created_at=when,
            text_after_ms=rng.randint(150, 700), first_token_after_ms=rng.randint(500, 2000),
            first_audio_after_ms=rng.randint(900, 3500),
        ))  # fmt: skip
    feedback = []
    if rng.random() < 0.05:
        feedback.append(Feedback(message_id=next_id + 1, user_id=chat.owner_id, rating=rng.choice([1, 1, 1, -1]),
                                 created_at=when))  # fmt: skip
    return [ask, answer], audio, feedback


def history_generate(*, messages: int, days: int = 365, seed: int = 1, progress=None) -> int:
    """Write about ``messages`` messages (two per turn, ten turns a chat at most) over the last ``days``."""
    rng = random.Random(seed)
    User = get_user_model()
    people = max(2, messages // 5000)
    users = [User(username=f"gen-{seed}-{i}") for i in range(people)]
    User.objects.bulk_create(users, ignore_conflicts=True)
    users = list(User.objects.filter(username__startswith=f"gen-{seed}-"))
    models = [ChatModel.objects.get_or_create(name=f"generated-{name}", defaults={"provider": "local"})[0]
              for name in ("small", "medium", "large")]  # fmt: skip
    now, written = timezone.now(), 0
    next_id = (Message.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    with _writable_timestamps(Message, ChatInstance, Feedback, AudioRecording):
        while written < messages:
            with transaction.atomic():
                chats = [ChatInstance(owner=rng.choice(users), chat_model=rng.choice(models), title="Generated",
                                      created_at=now - timedelta(seconds=rng.randint(0, days * 86400)))
                         for _ in range(1000)]  # fmt: skip
                ChatInstance.objects.bulk_create(chats)
                rows, audio, feedback = [], [], []
                for chat in chats:
                    parent, when = None, chat.created_at
                    for turn in range(min(rng.randint(1, 10), (messages - written - len(rows)) // 2 or 1)):
                        pair, recorded, rated = _turn(rng, chat, chat.chat_model, 2 * turn + 1, parent, next_id, when)
                        rows += pair
                        audio += recorded
                        feedback += rated
                        parent, next_id, when = next_id + 1, next_id + 2, when + timedelta(minutes=1)
                    if written + len(rows) >= messages:
                        break
                Message.objects.bulk_create(rows, batch_size=2000)
                AudioRecording.objects.bulk_create(audio, batch_size=2000)
                Feedback.objects.bulk_create(feedback, batch_size=2000)
                written += len(rows)
            if progress:
                progress(written)
    with connection.cursor() as cursor:  # ids were given: PostgreSQL's sequence moves past them
        for sql in connection.ops.sequence_reset_sql(no_style(), [Message]):
            cursor.execute(sql)
        cursor.execute("ANALYZE")  # the planners' statistics, as autovacuum would gather them after a while
    return written
