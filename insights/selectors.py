"""Reads of the insights app: each chart's data, as a table (its columns and rows), from the daily rollups."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, QuerySet, Sum

from insights.models import EVERYONE, DailyCount, DailyHistogram, DailySpeech, DailyUsage
from insights.speech import Errors

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: days ``start`` to ``end`` (both included) by ``period``, optionally one chat
    model and one person."""

    start: date
    end: date
    period: str = "day"
    chat_model_id: int | None = None
    user_id: int | None = None

    def apply(self, queryset: QuerySet) -> QuerySet:
        queryset = queryset.filter(day__gte=self.start, day__lte=self.end)
        if self.chat_model_id is not None:
            queryset = queryset.filter(chat_model_id=self.chat_model_id)
        if self.user_id is not None:
            queryset = queryset.filter(user_id=self.user_id)
        return queryset

    def apply_levels(self, queryset: QuerySet) -> QuerySet:
        """``apply`` for the histograms, whose rows of everyone (``EVERYONE``) stand for the filters left out."""
        queryset = queryset.filter(day__gte=self.start, day__lte=self.end)
        if self.user_id is not None:
            queryset = queryset.filter(user_id=self.user_id)
            return queryset if self.chat_model_id is None else queryset.filter(chat_model_id=self.chat_model_id)
        model = EVERYONE if self.chat_model_id is None else self.chat_model_id
        return queryset.filter(user_id=EVERYONE, chat_model_id=model)

    def periods(self) -> list[date]:
        """Every period's first day in the range, empty ones included."""
        first = period_start(self.start, self.period)
        out, day = [], first
        while day <= self.end:
            out.append(day)
            day = next_period(day, self.period)
        return out


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(day: date, period: str) -> date:
    if period == "week":
        return day + timedelta(days=7)
    if period == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


@dataclass
class ChartData:
    """One chart's numbers as a table. ``kind`` "time": the first column is the period and each other column a
    line; "bars": the first column is a category and the ``bar_columns`` are drawn as bars."""

    slug: str
    title: str
    kind: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    unit: str = ""
    bar_columns: int = 1
    note: str = ""


def percentile(histogram: dict[int, int], q: float) -> int | None:
    """The nearest-rank percentile (the smallest value with at least q% of the values at or below it)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(q / 100 * total)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


def _by_period(filters: Filters, queryset: QuerySet, **sums) -> dict[date, dict]:
    rows = filters.apply(queryset).values(filters.period).annotate(**sums).order_by()
    return {row[filters.period]: row for row in rows}


def _time_rows(filters: Filters, values: dict[date, dict], names: list[str]) -> list[list]:
    return [[day.isoformat(), *(values.get(day, {}).get(name) or 0 for name in names)] for day in filters.periods()]


def activity(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects, turns=Sum("turns"))
    rows = _time_rows(filters, values, ["turns"])
    return ChartData("activity", "Turns", "time", ["period", "turns"], rows)


def active_users(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects.filter(turns__gt=0), users=Count("user_id", distinct=True))
    rows = _time_rows(filters, values, ["users"])
    return ChartData("users", "Active users", "time", ["period", "active users"], rows)


def tokens(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects, tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"))
    rows = _time_rows(filters, values, ["tokens_in", "tokens_out"])
    return ChartData("tokens", "Tokens in and out", "time", ["period", "tokens in", "tokens out"], rows)


def failures(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects, failed=Sum("failed"), interrupted=Sum("interrupted"))
    rows = _time_rows(filters, values, ["failed", "interrupted"])
    return ChartData("failures", "Failed and interrupted replies", "time", ["period", "failed", "interrupted"], rows)


def error_codes(filters: Filters) -> ChartData:
    rows = (filters.apply(DailyCount.objects.filter(kind=DailyCount.Kind.ERROR)).values("key")
            .annotate(n=Sum("n")).order_by("-n", "key"))  # fmt: skip
    return ChartData("errors", "Failed and interrupted replies by error code", "bars", ["error code", "replies"],
                     [[row["key"], row["n"]] for row in rows])  # fmt: skip


def _histograms(filters: Filters, metric: str, by: str) -> dict:
    rows = (filters.apply_levels(DailyHistogram.objects.filter(metric=metric)).values(by, "bucket")
            .annotate(n=Sum("n")).order_by())  # fmt: skip
    out: dict = defaultdict(dict)
    for row in rows:
        out[row[by]][row["bucket"]] = row["n"]
    return out


def ttft(filters: Filters) -> ChartData:
    histograms = _histograms(filters, DailyHistogram.Metric.TTFT, filters.period)
    rows = [[day.isoformat(), percentile(histograms.get(day, {}), 50), percentile(histograms.get(day, {}), 95)]
            for day in filters.periods()]  # fmt: skip
    return ChartData("ttft", "Time to first token", "time", ["period", "p50 ms", "p95 ms"], rows, unit="ms")


def voice(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects, voice_turns=Sum("voice_turns"))
    rows = _time_rows(filters, values, ["voice_turns"])
    return ChartData("voice", "Voice turns", "time", ["period", "voice turns"], rows)


def stages(filters: Filters) -> ChartData:
    rows = []
    for metric in (DailyHistogram.Metric.TEXT, DailyHistogram.Metric.FIRST_TOKEN, DailyHistogram.Metric.FIRST_AUDIO):
        merged: dict[int, int] = defaultdict(int)
        for histogram in _histograms(filters, metric, "metric").values():
            for value, n in histogram.items():
                merged[value] += n
        rows.append([metric.label, percentile(merged, 50), percentile(merged, 95), sum(merged.values())])
    return ChartData("stages", "Conversation mode: from the end of speech", "bars",
                     ["stage", "p50 ms", "p95 ms", "turns"], rows, unit="ms", bar_columns=2)  # fmt: skip


def feedback(filters: Filters) -> ChartData:
    values = _by_period(filters, DailyUsage.objects, up=Sum("thumbs_up"), down=Sum("thumbs_down"))
    rows = _time_rows(filters, values, ["up", "down"])
    return ChartData("feedback", "Feedback", "time", ["period", "thumbs up", "thumbs down"], rows)


def tools(filters: Filters) -> ChartData:
    rows = (filters.apply(DailyCount.objects.filter(kind=DailyCount.Kind.TOOL)).values("key")
            .annotate(n=Sum("n"), failed=Sum("failed")).order_by("-n", "key"))  # fmt: skip
    return ChartData("tools", "Tool calls by tool", "bars", ["tool", "calls", "failed", "failure rate %"],
                     [[r["key"], r["n"], r["failed"], round(100 * r["failed"] / r["n"], 1) if r["n"] else 0]
                      for r in rows], bar_columns=2)  # fmt: skip


def _speech_errors(filters: Filters, *keys: str) -> dict[tuple, Errors]:
    rows = (filters.apply(DailySpeech.objects).values(*keys)
            .annotate(p=Sum("pairs"), w=Sum("words"), we=Sum("word_errors"), c=Sum("chars"), ce=Sum("char_errors"))
            .order_by())  # fmt: skip
    return {tuple(row[k] for k in keys): Errors(row["p"], row["w"], row["we"], row["c"], row["ce"]) for row in rows}


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def speech_quality(filters: Filters) -> ChartData:
    totals = _speech_errors(filters, "engine", "stt_model", "language")
    rows = [[f"{engine} {model} {language or '?'}", _pct(e.wer), _pct(e.cer), e.pairs]
            for (engine, model, language), e in sorted(totals.items())]  # fmt: skip
    return ChartData("wer", "Speech recognition: WER and CER from corrections", "bars",
                     ["engine model language", "WER %", "CER %", "corrected"], rows, unit="%", bar_columns=2,
                     note="Corrected voice messages only: reviewers correct what was heard wrong, so these rates "
                          "are higher than over all speech.")  # fmt: skip


def speech_over_time(filters: Filters) -> ChartData:
    totals = _speech_errors(filters, filters.period)
    rows = [[day.isoformat(), _pct(totals[(day,)].wer) if (day,) in totals else None,
             _pct(totals[(day,)].cer) if (day,) in totals else None] for day in filters.periods()]  # fmt: skip
    return ChartData("wer-time", "WER and CER over time", "time", ["period", "WER %", "CER %"], rows, unit="%")


CHARTS: dict[str, Callable[[Filters], ChartData]] = {
    "activity": activity,
    "users": active_users,
    "tokens": tokens,
    "failures": failures,
    "errors": error_codes,
    "ttft": ttft,
    "voice": voice,
    "stages": stages,
    "feedback": feedback,
    "tools": tools,
    "wer": speech_quality,
    "wer-time": speech_over_time,
}
