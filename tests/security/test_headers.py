"""Every response carries the security headers, static files included; HTML without a policy of its own (the
admin) gets a Content-Security-Policy; and Django's deploy check is clean for a correct deployment and still
speaks up for a wrong one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.test import Client

from config.asgi import application

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


async def test_static_files_carry_the_security_headers():
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for path in ("/static/js/app.js", "/static/css/app.css"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["permissions-policy"].startswith("microphone=(self)")
            assert response.headers["referrer-policy"] == "same-origin"


def test_admin_pages_have_a_content_security_policy(admin_user):
    client = Client()
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/chat/chatinstance/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]


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
