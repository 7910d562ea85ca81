"""The insights dashboard in Chromium, as a staff member with "view insights" opens it at 1280×800."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from insights.generate import history_generate
from insights.selectors import CHARTS
from tests.e2e.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_every_chart_is_drawn(browser, daphne_server):
    operator = get_user_model().objects.create_user("operator", password="a-long-test-password", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_insights"))
    history_generate(messages=3000, days=30, seed=7)
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # under the admin's CSP
    page = context.new_page()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    sign_in(page, daphne_server, "operator")
    page.goto(f"{daphne_server.url}/admin/")
    page.click('a[href="/admin/insights/dailyusage/"] >> nth=0')
    page.wait_for_selector("svg.insights-chart")
    for slug in CHARTS:
        chart = page.locator(f'svg[data-chart="{slug}"]')
        assert chart.is_visible(), slug
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 60, slug
        assert chart.locator("polyline, rect.bar").count() > 0, f"{slug} has nothing drawn"
        assert "No data" not in chart.text_content()
    turns = page.locator('svg[data-chart="activity"] circle title').first.text_content()
    assert "turns:" in turns
    page.screenshot(path=str(SCREENSHOTS / "insights.png"))
    page.set_viewport_size({"width": 1280, "height": 1800})
    page.screenshot(path="/tmp/insights-full.png", full_page=True)
    page.click("#chart-tools >> text=Table")
    assert page.locator("table.insights-table tbody tr").count() >= 2
    page.screenshot(path="/tmp/insights-table.png")
    context.close()
    assert violations == []
