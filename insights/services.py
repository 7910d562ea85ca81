"""Writes of the insights app: the daily rollups rebuilt from the messages, a few days back at a time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from chat.models import Feedback, Message
from insights.models import EVERYONE, DailyCount, DailyHistogram, DailySpeech, DailyUsage, RollupState
from insights.speech import Errors, errors
from voice.models import AudioRecording

USAGE_FIELDS = ("turns", "voice_turns", "tokens_in", "tokens_out", "failed", "interrupted", "thumbs_up", "thumbs_down")
# Each conversation-mode stage, and the recording's field that holds it.
STAGES = {"text": "text_after_ms", "first_token": "first_token_after_ms", "first_audio": "first_audio_after_ms"}


def bucket(ms: int) -> int:
    """The histogram bucket of a duration: 10 ms steps below 1 s, 100 ms below 10 s, then whole seconds."""
    step = 10 if ms < 1000 else 100 if ms < 10_000 else 1000
    return ms // step * step


def _bucket_sql(field: str) -> Case:
    value = F(field)
    return Case(
        When(**{f"{field}__lt": 1000}, then=value / 10 * 10),
        When(**{f"{field}__lt": 10_000}, then=value / 100 * 100),
        default=value / 1000 * 1000,
        output_field=IntegerField(),
    )


def _dims(day: date) -> dict:
    return {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}


def _model(via: str = "") -> Coalesce:
    """The reply's chat model, else its conversation's, else 0."""
    return Coalesce(f"{via}chat_model_id", f"{via}chat__chat_model_id", Value(0), output_field=BigIntegerField())


def _insert(model: type, rows: Iterable) -> None:
    """Bulk inserts a batch at a time: a full rebuild yields hundreds of thousands of rows."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _usage(since: datetime) -> dict[tuple, dict[str, int]]:
    """Every counter of DailyUsage, per (day, chat model, person), from the replies, voice questions and feedback."""
    rows: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(USAGE_FIELDS, 0))
    keys = ("day", "model", "person")
    replies = (
        Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=since)
        .exclude(status=Message.Status.STREAMING)
        .annotate(day=TruncDate("created_at"), model=_model(), person=F("chat__owner_id"))  # fmt: skip
        .values(*keys)
        .annotate(
            turns=Count("id"),
            tokens_in=Coalesce(Sum("prompt_tokens"), 0),
            tokens_out=Coalesce(Sum("completion_tokens"), 0),
            failed=Count("id", filter=Q(status=Message.Status.ERROR)),
            interrupted=Count("id", filter=Q(status=Message.Status.INTERRUPTED)),
        )
        .order_by()
    )
    for row in replies:
        rows[row["day"], row["model"], row["person"]].update({k: v for k, v in row.items() if k not in keys})
    voice = (
        Message.objects.filter(role=Message.Role.USER, source=Message.Source.VOICE, created_at__gte=since)
        .annotate(day=TruncDate("created_at"), model=_model(), person=F("chat__owner_id"))  # fmt: skip
        .values(*keys)
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in voice:
        rows[row["day"], row["model"], row["person"]]["voice_turns"] = row["n"]
    feedback = (
        Feedback.objects.filter(created_at__gte=since)
        .annotate(
            day=TruncDate("created_at"), model=_model("message__"), person=F("message__chat__owner_id")
        )  # fmt: skip
        .values(*keys)
        .annotate(up=Count("id", filter=Q(rating=1)), down=Count("id", filter=Q(rating=-1)))
        .order_by()
    )
    for row in feedback:
        counters = rows[row["day"], row["model"], row["person"]]
        counters["thumbs_up"], counters["thumbs_down"] = row["up"], row["down"]
    return rows


def _counts(since: datetime) -> Iterable[DailyCount]:
    """Failed and interrupted replies by error code, and tool calls by tool with their failures."""
    failures = (
        Message.objects.filter(
            role=Message.Role.ASSISTANT,
            created_at__gte=since,
            status__in=[Message.Status.ERROR, Message.Status.INTERRUPTED],
        )  # fmt: skip
        .annotate(day=TruncDate("created_at"), model=_model(), person=F("chat__owner_id"))  # fmt: skip
        .values("day", "model", "person", "status", "error_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in failures:
        yield DailyCount(
            **_dims(row["day"]),
            chat_model_id=row["model"],
            user_id=row["person"],
            kind=DailyCount.Kind.ERROR,
            key=(row["error_code"] or row["status"])[:100],
            n=row["n"],
        )
    tools: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    calls = (
        Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=since)
        .exclude(tool_calls=[])
        .annotate(day=TruncDate("created_at"), model=_model(), person=F("chat__owner_id"))  # fmt: skip
        .values_list("day", "model", "person", "tool_calls")
        .order_by()
    )
    for day, model, user, tool_calls in calls.iterator(chunk_size=5000):
        for call in tool_calls or []:
            counter = tools[day, model, user, str(call.get("name") or "?")[:100]]
            counter[0] += 1
            counter[1] += call.get("ok") is False
    for (day, model, user, name), (n, failed) in tools.items():
        yield DailyCount(**_dims(day), chat_model_id=model, user_id=user, kind=DailyCount.Kind.TOOL, key=name,
                         n=n, failed=failed)  # fmt: skip


def _histogram_counts(since: datetime) -> Counter:
    """Replies' time to first token and recordings' conversation-mode stages, counted per
    (day, chat model, person, metric, bucket)."""
    counts: Counter = Counter()
    ttft = (
        Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=since, ttft_ms__isnull=False)
        .annotate(
            day=TruncDate("created_at"), bucket=_bucket_sql("ttft_ms"), model=_model(), person=F("chat__owner_id")
        )  # fmt: skip
        .values("day", "model", "person", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in ttft.iterator(chunk_size=5000):
        counts[row["day"], row["model"], row["person"], DailyHistogram.Metric.TTFT, row["bucket"]] += row["n"]
    stages = (
        AudioRecording.objects.filter(message__created_at__gte=since)
        .annotate(day=TruncDate("message__created_at"), model=_model("message__"), person=F("message__chat__owner_id"))
        .values_list("day", "model", "person", *STAGES.values())
        .order_by()
    )  # one pass over the recordings for the three stages
    for day, model, person, *values in stages.iterator(chunk_size=5000):
        for metric, value in zip(STAGES, values, strict=True):
            if value is not None:
                counts[day, model, person, metric, bucket(value)] += 1
    return counts


def _histograms(since: datetime) -> Iterable[DailyHistogram]:
    """The counts of each person, and the same added up over people (``EVERYONE``) per model and over both,
    so that a chart of everyone reads a few rows a day whatever the number of people."""
    counts = _histogram_counts(since)
    totals: Counter = Counter()
    for (day, model, _person, metric, value), n in counts.items():
        totals[day, model, EVERYONE, metric, value] += n
        totals[day, EVERYONE, EVERYONE, metric, value] += n
    for (day, model, person, metric, value), n in chain(counts.items(), totals.items()):
        yield DailyHistogram(**_dims(day), chat_model_id=model, user_id=person, metric=metric, bucket=value, n=n)


def _speech(since: datetime) -> Iterable[DailySpeech]:
    """The corrected voice messages' edit counts, per day, person, engine, speech model and language."""
    totals: dict[tuple, Errors] = defaultdict(Errors)
    pairs = (
        AudioRecording.objects.filter(message__created_at__gte=since)
        .exclude(message__corrected_content="")
        .annotate(day=TruncDate("message__created_at"), model=_model("message__"), person=F("message__chat__owner_id"))
        .values_list(
            "day",
            "model",
            "person",
            "engine",
            "model_name",
            "language",
            "message__content",
            "message__corrected_content",
        )  # fmt: skip
        .order_by()
    )
    for day, model, user, engine, stt_model, language, heard, corrected in pairs.iterator(chunk_size=2000):
        totals[day, model, user, engine, stt_model, language].add(errors(corrected, heard, language))
    for (day, model, user, engine, stt_model, language), counts in totals.items():
        if counts.pairs:
            yield DailySpeech(
                **_dims(day),
                chat_model_id=model,
                user_id=user,
                engine=engine,
                stt_model=stt_model,
                language=language,
                pairs=counts.pairs,
                words=counts.words,
                word_errors=counts.word_errors,
                chars=counts.chars,
                char_errors=counts.char_errors,
            )


def rollup_refresh(*, since: date | None = None) -> RollupState:
    """Rebuild the rollups of every day from ``since`` (all days when None), in one transaction."""
    start = datetime.combine(since or date(1970, 1, 1), time.min, tzinfo=UTC)
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1)
        state = RollupState.objects.select_for_update().get(pk=1)  # one refresh at a time
        now = timezone.now()
        for model in (DailyUsage, DailyCount, DailyHistogram, DailySpeech):
            model.objects.filter(day__gte=start.date()).delete()
        usage = [DailyUsage(**_dims(day), chat_model_id=model, user_id=user, **counters)
                 for (day, model, user), counters in _usage(start).items()]  # fmt: skip
        _insert(DailyUsage, usage)
        _insert(DailyCount, _counts(start))
        _insert(DailyHistogram, _histograms(start))
        _insert(DailySpeech, _speech(start))
        state.refreshed_at = now
        state.save(update_fields=["refreshed_at"])
    return state


def rollup_refresh_recent() -> None:
    """Bring the rollups up to date when they are older than INSIGHTS_REFRESH_SECONDS: the days since the
    last refresh, and INSIGHTS_REFRESH_DAYS before it (replies finish and feedback arrives after the day).
    0 seconds: never here, only by ``manage.py insights_refresh``."""
    if not settings.INSIGHTS_REFRESH_SECONDS:  # cron refreshes them (manage.py insights_refresh)
        return
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.refreshed_at is None:
        rollup_refresh()
        return
    if timezone.now() - state.refreshed_at < timedelta(seconds=settings.INSIGHTS_REFRESH_SECONDS):
        return
    rollup_refresh(since=(state.refreshed_at - timedelta(days=settings.INSIGHTS_REFRESH_DAYS)).date())
