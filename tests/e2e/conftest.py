"""A real daphne process driven by Debian's chromium through Playwright (no browser download)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from chat.models import ChatModel
from tests.support.browser import launch

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def playwright_instance(_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = launch(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def person(transactional_db):
    return get_user_model().objects.create_user("carol", password="a-long-test-password")


def sign_in(page, server, username="carol", password="a-long-test-password"):
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    # Playwright's sync API keeps an event loop in the test thread, so Django would take the tests' own
    # (synchronous, safe) ORM calls for calls from async code. Allowed for these modules only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def model(transactional_db, llm):
    """The chat model the pages use (a test module may define its own)."""
    return ChatModel.objects.create(name="Paced test model", base_url=llm.base_url, upstream_model="m")


def signed_in_page(browser, server, *, bypass_csp: bool):
    # Playwright evaluates some test predicates with eval(), which the app's Content-Security-Policy forbids;
    # tests that use them bypass it. The page itself runs under the policy in ``strict_page``.
    context = browser.new_context(viewport={"width": 1200, "height": 800}, bypass_csp=bypass_csp)
    page = context.new_page()
    sign_in(page, server)
    return context, page


@pytest.fixture
def page(browser, daphne_server, person, model):
    context, page = signed_in_page(browser, daphne_server, bypass_csp=True)
    yield page
    context.close()


@pytest.fixture
def strict_page(browser, daphne_server, person, model):
    """A page under the app's Content-Security-Policy, failing the test on any violation it reports."""
    context, page = signed_in_page(browser, daphne_server, bypass_csp=False)
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    yield page
    context.close()
    assert violations == []
