"""The insights dashboard on a big database: the time each chart takes on a generated history.

    .venv/bin/python bench/insights.py --database sqlite:////tmp/big.sqlite3 [--generate 1000000]
    .venv/bin/python bench/insights.py --database postgres://postgres@127.0.0.1:5432/insights_bench

Each chart is a selector over the daily rollups (insights/selectors.py), timed warm, best and median of
``--repeat`` runs, for the last 30 days by day, the last year by month, and the last year for one person.
The reference, measured in the same run: turns per day over the last 30 days counted from the messages
themselves (what a chart would cost without the rollups). Also: the dashboard's incremental refresh (the last
INSIGHTS_REFRESH_DAYS days), and the whole page as the admin renders it. Goal: every chart under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

parser = argparse.ArgumentParser()
parser.add_argument("--database", required=True, help="a DATABASE_URL (sqlite:////abs/path or postgres://…)")
parser.add_argument("--generate", type=int, default=0, help="generate this many messages first if it is empty")
parser.add_argument("--repeat", type=int, default=5)
args = parser.parse_args()
os.environ["DATABASE_URL"] = args.database
os.environ["DB_POOL"] = "0"

from common import setup_django  # noqa: E402

GOAL_MS = 300


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm: the database's pages and the query plan
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return min(runs), statistics.median(runs)


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.test import Client
    from django.utils import timezone

    from chat.models import Message
    from insights.generate import history_generate
    from insights.models import DailyHistogram, DailyUsage
    from insights.selectors import CHARTS, Filters
    from insights.services import rollup_refresh, rollup_refresh_recent

    if args.generate and not Message.objects.exists():
        history_generate(messages=args.generate)
        rollup_refresh()
    count = Message.objects.count()
    today = timezone.localdate()
    person = DailyUsage.objects.values_list("user_id", flat=True).first()
    views = {
        "30 days by day": Filters(start=today - timedelta(days=29), end=today),
        "a year by month": Filters(start=today - timedelta(days=364), end=today, period="month"),
        "a year, one person": Filters(start=today - timedelta(days=364), end=today, period="week", user_id=person),
    }
    print(
        f"insights benchmark: {connection.vendor}, {count:,} messages, {DailyUsage.objects.count():,} usage "
        f"rows, {DailyHistogram.objects.count():,} histogram rows; best / median of {args.repeat} runs, ms"
    )
    print(f"  {'chart':10}" + "".join(f"{name:>24}" for name in views))
    worst = 0.0
    for slug, chart in CHARTS.items():
        cells = []
        for filters in views.values():
            best, median = timed(lambda chart=chart, filters=filters: chart(filters), args.repeat)
            worst = max(worst, median)
            cells.append(f"{best:10.1f} / {median:8.1f}")
        print(f"  {slug:10}" + "".join(f"{cell:>24}" for cell in cells))
    since = timezone.now() - timedelta(days=30)
    reference = (Message.objects.filter(role="assistant", created_at__gte=since)
                 .annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("id")).order_by())  # fmt: skip
    best, median = timed(lambda: list(reference.all()), args.repeat)
    print(f"  reference: turns per day over 30 days from the messages: {best:.1f} / {median:.1f}")
    best, median = timed(lambda: rollup_refresh(since=today - timedelta(days=2)), args.repeat)
    print(f"  incremental refresh (the last 2 days, as a dashboard view does once a minute): {best:.1f} / {median:.1f}")
    from django.conf import settings

    settings.INSIGHTS_REFRESH_SECONDS = 10**9
    rollup_refresh_recent()
    staff = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "bench-insights", password="x")  # fmt: skip
    client = Client()
    client.force_login(staff)
    best, median = timed(lambda: client.get("/admin/insights/dailyusage/"), args.repeat)
    print(f"  the dashboard page ({len(CHARTS)} charts, 30 days): {best:.1f} / {median:.1f}")
    print(f"  slowest chart median {worst:.1f} ms: {worst / GOAL_MS:.2f}x the goal ({GOAL_MS} ms)")


if __name__ == "__main__":
    sys.exit(main())
