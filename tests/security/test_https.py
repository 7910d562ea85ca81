"""HTTPS: ``DJANGO_HTTPS=1`` turns on redirects, HSTS and secure cookies and trusts the proxy's
X-Forwarded-Proto; behind that proxy plain HTTP is sent to HTTPS while the health checks are not; and Django's
deploy check is clean with it and still speaks up without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.support.child_settings import settings_in_child

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_https_setting_turns_on_hsts_redirects_and_secure_cookies():
    assert settings_in_child(DJANGO_HTTPS="1")["https"] == [
        True, 31_536_000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]  # fmt: skip
    assert settings_in_child()["https"] == [None, None, False, False, None]


def test_https_behind_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    client = Client()
    assert client.get("/accounts/login/").status_code == 301  # plain HTTP is sent to HTTPS
    assert client.get("/healthz").status_code == 200  # a load balancer's health check is not
    secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200 and secure["Strict-Transport-Security"] == "max-age=3600"


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    environment = {**base, "DJANGO_SECRET_KEY": "k" * 60 + "0123456789", "DJANGO_DEBUG": "0",
                   "DJANGO_ALLOWED_HOSTS": "chat.example.com", **env}  # fmt: skip
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          capture_output=True, text=True, env=environment)  # fmt: skip


def test_the_deploy_check_is_clean_behind_https_and_honest_without_it():
    clean = deploy_check(DJANGO_HTTPS="1")
    assert clean.returncode == 0 and "no issues" in clean.stdout, clean.stdout + clean.stderr
    # Plain HTTP in production: Django's own warnings come back (the inline middleware counts as Django's).
    plain = deploy_check()
    assert plain.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in plain.stderr, warning
