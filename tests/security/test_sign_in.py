"""Failed sign-ins are limited per address and per username, on every sign-in form; a browser that has
signed in as a user before is held to its own failures, so a stranger's guesses do not lock that person out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_every_sign_in_form_is_limited(settings, path):
    settings.RATE_LIMIT_LOGINS_PER_MINUTE = 3
    get_user_model().objects.create_superuser("root", password="right-pw-1")
    client = Client()
    for _ in range(3):
        assert client.post(path, {"username": "root", "password": "wrong"}).status_code == 200
    refused = client.post(path, {"username": "root", "password": "right-pw-1"})
    assert refused.status_code == 429 and "Too many sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_limit_counts_failures_per_address_and_username_behind_a_trusted_proxy(settings, user):
    settings.RATE_LIMIT_LOGINS_PER_MINUTE = 3
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client = Client(REMOTE_ADDR="127.0.0.1")

    def attempt(address: str, username: str, password: str = "wrong") -> int:
        return client.post("/accounts/login/", {"username": username, "password": password},
                           HTTP_X_FORWARDED_FOR=address).status_code  # fmt: skip

    # Successes are not counted.
    for _ in range(5):
        assert attempt("203.0.113.1", "alice", "pw-alice-123") == 302
        client.logout()
    # One address guessing many usernames is stopped...
    assert [attempt("203.0.113.9", f"guess{i}") for i in range(4)] == [200, 200, 200, 429]
    # ...without locking out everyone else behind the same proxy.
    assert attempt("203.0.113.2", "alice", "pw-alice-123") == 302
    client.logout()
    # Many addresses guessing one username are stopped too.
    assert [attempt(f"198.51.100.{i}", "alice") for i in range(4)] == [200, 200, 200, 429]


def test_a_forged_forwarded_for_does_not_dodge_the_limit(settings, user):
    settings.RATE_LIMIT_LOGINS_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="192.0.2.7")  # not a trusted proxy: its X-Forwarded-For is the client's own words
    codes = [client.post("/accounts/login/", {"username": f"u{i}", "password": "x"},
                         HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]  # fmt: skip
    assert codes == [200, 200, 429]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_strangers_wrong_passwords_do_not_lock_out_the_user_on_their_own_browser(settings, path):
    """Ten wrong passwords from anywhere once locked the real admin out for a minute."""
    settings.RATE_LIMIT_LOGINS_PER_MINUTE = 3
    get_user_model().objects.create_superuser("root", password="right-pw-1", email="root@example.com")
    own = Client(REMOTE_ADDR="203.0.113.5")
    assert own.post(path, {"username": "root", "password": "right-pw-1"}).status_code == 302
    signed_out(own)
    assert own.cookies["signin_device"]["httponly"]
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    codes = [attacker.post(path, {"username": "root", "password": f"guess{i}"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    # From the same address too (behind one NAT), the browser that signed in before gets through...
    own.defaults["REMOTE_ADDR"] = "198.51.100.66"
    assert own.post(path, {"username": "root", "password": "right-pw-1"}).status_code == 302
    signed_out(own)
    # ...and is itself limited in its wrong guesses; a forged or another user's cookie counts for nothing.
    assert [own.post(path, {"username": "root", "password": "bad"}).status_code for _ in range(4)] == [200] * 3 + [429]
    forged = Client(REMOTE_ADDR="192.0.2.1")
    forged.cookies["signin_device"] = own.cookies["signin_device"].value[:-2] + "xx"
    assert forged.post(path, {"username": "root", "password": "right-pw-1"}).status_code == 429


def signed_out(client: Client) -> None:
    """Signed out as a browser is (``Client.logout`` would clear every cookie): the session goes."""
    del client.cookies["sessionid"]
