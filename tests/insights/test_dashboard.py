"""The dashboard in the admin: only for staff with "view insights"; every chart drawn, with its table and CSV."""

from __future__ import annotations

import pytest
from django.test import Client

from insights.selectors import CHARTS
from tests.admin.conftest import staff_with

pytestmark = pytest.mark.django_db
URL = "/admin/insights/dailyusage/"
MARCH = "?period=week&start=2026-03-01&end=2026-03-31"


def test_staff_without_the_permission_cannot_see_it(history):
    client = staff_with("view_chatinstance")
    assert client.get(URL).status_code == 403
    assert client.get(URL + "tools/csv/").status_code == 403
    assert "Insights" not in client.get("/admin/").content.decode()


def test_every_chart_is_drawn_with_its_numbers_on_hover(history):
    client = staff_with("view_insights")
    assert 'href="/admin/insights/dailyusage/"' in client.get("/admin/").content.decode()
    page = client.get(URL + MARCH).content.decode()
    for slug in CHARTS:
        assert f'data-chart="{slug}"' in page
        assert f"/admin/insights/dailyusage/{slug}/csv/{MARCH}".replace("&", "&amp;") in page
    assert "<title>2026-03-02 · turns: 4</title>" in page
    assert "<title>calculator · failed: 1</title>" in page
    assert 'style="' not in page.split('<div class="insights-grid">')[1]  # within the CSP: no inline styles


def test_table_and_csv_of_a_chart(history):
    client = staff_with("view_insights")
    csv = client.get(URL + "tools/csv/" + MARCH)
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines() == [
        "tool,calls,failed,failure rate %",
        "calculator,2,1,50.0",
        "clock,1,0,0.0",
    ]
    table = client.get(URL + "ttft/table/" + MARCH).content.decode()
    assert "<td>2026-03-02</td><td>200</td><td>300</td>" in table  # 100, 200, 300
    assert client.get(URL + "nonsense/csv/").status_code == 404


def test_a_person_filter_by_username(history):
    client = staff_with("view_insights")
    csv = client.get(URL + "activity/csv/" + MARCH + "&user=bob").content.decode()
    assert csv.splitlines() == ["period,turns", "2026-02-23,0", "2026-03-02,1", "2026-03-09,0", "2026-03-16,0",
                                "2026-03-23,0", "2026-03-30,0"]  # fmt: skip
    assert client.get(URL + "activity/csv/" + MARCH + "&user=nobody").content.decode().count(",0") == 6
    assert Client().get(URL).status_code == 302  # signed out: to the sign-in page
