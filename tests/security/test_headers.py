"""Every response carries the security headers, static files included; pages carry a Content-Security-Policy
without inline scripts and a Permissions-Policy that lets only this origin use the microphone, and HTML without
a policy of its own (the admin) gets one too. (HSTS and Django's deploy check: test_https.py.)"""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from config.asgi import application

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


def test_pages_send_a_content_security_policy_and_permissions_policy(user):
    client = Client()
    login = client.get("/accounts/login/")
    client.force_login(user)
    home = client.get("/", follow=True)
    for response in (login, home):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response["Permissions-Policy"].startswith("microphone=(self)")
    assert client.get("/healthz")["Permissions-Policy"]


def test_admin_pages_have_a_content_security_policy(admin_user):
    client = Client()
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/chat/chatinstance/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
