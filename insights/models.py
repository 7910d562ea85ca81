"""Daily rollups of the conversations, which the dashboard reads instead of the messages themselves.

Each row is one day of one chat model (``chat_model_id``, 0 for none) and one person (``user_id``); ``week``
(its Monday) and ``month`` (its first day) are stored so a chart groups by an indexed column. They are rebuilt
from the messages by ``insights.services.rollup_refresh``, a few days back each time (the newest days change
as replies finish and feedback arrives).
"""

from __future__ import annotations

from django.db import models

# The chat_model_id and user_id of the histogram rows that add up every chat model or every person.
EVERYONE = -1


class RollupBase(models.Model):
    day = models.DateField()
    week = models.DateField()
    month = models.DateField()
    chat_model_id = models.BigIntegerField(help_text="0: a reply with no chat model (deleted since).")
    user_id = models.BigIntegerField()

    class Meta:
        abstract = True


class DailyUsage(RollupBase):
    """A person's replies with one chat model on one day: counts, tokens, failures, feedback."""

    turns = models.PositiveIntegerField(default=0)
    voice_turns = models.PositiveIntegerField(default=0)
    tokens_in = models.BigIntegerField(default=0)
    tokens_out = models.BigIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    interrupted = models.PositiveIntegerField(default=0)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        default_permissions = ()
        permissions = [("view_insights", "Can view insights (the operator's dashboard)")]
        verbose_name = verbose_name_plural = "dashboard"
        indexes = [
            models.Index(fields=["day", "chat_model_id", "user_id"], name="insights_usage_day_idx"),
            models.Index(fields=["user_id", "day"], name="insights_usage_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} model {self.chat_model_id} user {self.user_id}"


class DailyCount(RollupBase):
    """How many replies failed with an error code, or how many calls a tool had (and how many failed)."""

    class Kind(models.TextChoices):
        ERROR = "error", "Error code"
        TOOL = "tool", "Tool"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=100)
    n = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        default_permissions = ()
        indexes = [models.Index(fields=["kind", "day"], name="insights_count_kind_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.key}: {self.n}"


class DailyHistogram(RollupBase):
    """How many replies took ``bucket`` ms for one measure: percentiles are read from these counts.

    ``bucket`` keeps 10 ms below 1 s, 100 ms below 10 s and whole seconds above (``insights.services.bucket``),
    so a percentile is exact to that step on any database. Besides each person's rows, rows with ``user_id``
    ``EVERYONE`` add up the people of each chat model, and rows with both ``EVERYONE`` add up all of them: a
    percentile over a year of everyone reads a few hundred rows a day, not one per reply."""

    class Metric(models.TextChoices):
        TTFT = "ttft", "Time to first token"
        TEXT = "text", "End of speech → text"
        FIRST_TOKEN = "first_token", "End of speech → first token"
        FIRST_AUDIO = "first_audio", "End of speech → first audio"

    metric = models.CharField(max_length=12, choices=Metric.choices)
    bucket = models.PositiveIntegerField()
    n = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        default_permissions = ()
        indexes = [
            models.Index(fields=["metric", "user_id", "chat_model_id", "day"], name="insights_hist_level_idx"),
            models.Index(fields=["day"], name="insights_hist_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.bucket} ms: {self.n}"


class RollupState(models.Model):
    """Where the rollups stand: the last time they were refreshed (one row)."""

    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"refreshed {self.refreshed_at}"


class DailySpeech(RollupBase):
    """How well speech was heard: the corrected voice messages of a day, for one engine, model and language,
    with their edit counts against the corrections (WER and CER add up across rows: errors over length)."""

    engine = models.CharField(max_length=40)
    stt_model = models.CharField(max_length=100)
    language = models.CharField(max_length=16, blank=True)
    pairs = models.PositiveIntegerField(default=0)
    words = models.PositiveIntegerField(default=0)
    word_errors = models.PositiveIntegerField(default=0)
    chars = models.PositiveIntegerField(default=0)
    char_errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        default_permissions = ()
        indexes = [models.Index(fields=["day"], name="insights_speech_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.engine} {self.stt_model} {self.language}: {self.pairs} pairs"
