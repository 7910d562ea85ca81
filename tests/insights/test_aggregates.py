"""Every chart's numbers against values worked out by hand on the fixed history of conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from insights import selectors
from insights.selectors import Filters, percentile
from insights.services import bucket, rollup_refresh
from tests.insights.conftest import D1, D2, D3

pytestmark = pytest.mark.django_db

MARCH = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), period="month")


@pytest.fixture
def rolled(history):
    rollup_refresh()
    return history


def rows_on(chart, *days):
    by_day = {row[0]: row[1:] for row in chart.rows}
    return [by_day[day.isoformat()] for day in days]


def test_turns_and_active_users_by_day_and_week(rolled):
    days = Filters(start=D1, end=D3, period="day")
    chart = selectors.activity(days)
    assert len(chart.rows) == 9  # every day of the range, the quiet ones as 0
    assert rows_on(chart, D1, D2, date(2026, 3, 4), D3) == [[3], [1], [0], [1]]
    assert rows_on(selectors.active_users(days), D1, D2, date(2026, 3, 4), D3) == [[1], [1], [0], [1]]
    weeks = Filters(start=D1, end=D3, period="week")
    assert selectors.activity(weeks).rows == [["2026-03-02", 4], ["2026-03-09", 1]]
    assert selectors.active_users(weeks).rows == [["2026-03-02", 2], ["2026-03-09", 1]]  # alice and bob, then alice
    assert selectors.activity(MARCH).rows == [["2026-03-01", 5]]
    assert selectors.active_users(MARCH).rows == [["2026-03-01", 2]]


def test_filters_by_model_and_by_person(rolled):
    by_model = Filters(start=D1, end=D3, period="month", chat_model_id=rolled["m1"].pk)
    assert selectors.tokens(by_model).rows == [["2026-03-01", 15, 27]]
    assert selectors.tokens(MARCH).rows == [["2026-03-01", 16, 29]]
    bob = Filters(start=D1, end=D3, period="week", user_id=rolled["bob"].pk)
    assert selectors.activity(bob).rows == [["2026-03-02", 1], ["2026-03-09", 0]]
    assert selectors.active_users(bob).rows == [["2026-03-02", 1], ["2026-03-09", 0]]
    assert selectors.voice(bob).rows == [["2026-03-02", 1], ["2026-03-09", 0]]


def test_failures_and_error_codes(rolled):
    assert selectors.failures(MARCH).rows == [["2026-03-01", 1, 1]]
    assert selectors.error_codes(MARCH).rows == [["interrupted", 1], ["upstream_timeout", 1]]


def test_time_to_first_token_percentiles(rolled):
    # 100, 300 (alice, day 1), 200 (bob), 400 (alice, day 3): nearest rank p50 = 2nd = 200, p95 = 4th = 400.
    assert selectors.ttft(MARCH).rows == [["2026-03-01", 200, 400]]
    assert rows_on(selectors.ttft(Filters(start=D1, end=D1)), D1) == [[100, 300]]
    assert selectors.ttft(Filters(start=date(2026, 4, 1), end=date(2026, 4, 1))).rows == [["2026-04-01", None, None]]


def test_percentiles_of_one_model_and_of_one_person(rolled):
    alice, bob, m2 = rolled["alice"].pk, rolled["bob"].pk, rolled["m2"].pk
    march = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "period": "month"}
    assert selectors.ttft(Filters(**march, chat_model_id=m2)).rows == [["2026-03-01", 200, 400]]  # 200, 400
    assert selectors.ttft(Filters(**march, user_id=alice)).rows == [["2026-03-01", 300, 400]]  # 100, 300, 400
    assert selectors.ttft(Filters(**march, user_id=alice, chat_model_id=m2)).rows == [["2026-03-01", 400, 400]]
    assert selectors.stages(Filters(**march, user_id=alice)).rows[0] == ["End of speech → text", None, None, 0]
    assert selectors.stages(Filters(**march, user_id=bob)).rows[0] == ["End of speech → text", 400, 400, 1]


def test_conversation_stages_and_feedback(rolled):
    assert selectors.stages(MARCH).rows == [
        ["End of speech → text", 400, 400, 1],
        ["End of speech → first token", 900, 900, 1],
        ["End of speech → first audio", 1500, 1500, 1],
    ]
    assert rows_on(selectors.feedback(Filters(start=D1, end=D3)), D2, D3) == [[0, 1], [1, 0]]


def test_tool_calls_by_tool_with_failure_rate(rolled):
    assert selectors.tools(MARCH).rows == [["calculator", 2, 1, 50.0], ["clock", 1, 0, 0.0]]


def test_word_and_character_error_rates_from_corrections(rolled):
    # "what is the weather in london" (6 words, 29 characters) heard as "… whether …": one word substituted,
    # two characters ("ea" → "he").
    assert selectors.speech_quality(MARCH).rows == [
        ["openai-whisper base en", round(100 / 6, 1), round(200 / 29, 1), 1]
    ]
    assert selectors.speech_over_time(MARCH).rows == [["2026-03-01", 16.7, 6.9]]


def test_percentile_and_buckets():
    assert percentile({10: 1, 20: 1, 30: 1, 40: 1}, 50) == 20
    assert percentile({10: 1, 20: 1, 30: 1, 40: 1}, 95) == 40
    assert percentile({}, 50) is None
    assert [bucket(v) for v in (7, 999, 1049, 9999, 12_345)] == [0, 990, 1000, 9900, 12_000]


def test_refresh_rebuilds_only_recent_days(rolled):
    from chat.models import Message

    Message.objects.filter(status="error").update(error_code="changed")
    rollup_refresh(since=D3)  # day 1 is older: kept as rolled up
    assert selectors.error_codes(MARCH).rows == [["interrupted", 1], ["upstream_timeout", 1]]
    rollup_refresh(since=D1)
    assert selectors.error_codes(MARCH).rows == [["changed", 1], ["interrupted", 1]]
