"""What config/settings.py makes of the environment, each case in a fresh process: a sqlite DATABASE_URL gets
the same settings as SQLITE_PATH (WAL, immediate transactions, one database thread). DJANGO_HTTPS's settings
are tested with the rest of HTTPS, in tests/security/test_https.py."""

from __future__ import annotations

from tests.support.child_settings import settings_in_child


def test_a_sqlite_database_url_gets_the_sqlite_settings(tmp_path):
    url = settings_in_child(DATABASE_URL=f"sqlite:///{tmp_path}/chat.sqlite3")
    path = settings_in_child(SQLITE_PATH=str(tmp_path / "chat.sqlite3"))
    assert url == path
    assert url["options"]["transaction_mode"] == "IMMEDIATE" and "journal_mode=WAL" in url["options"]["init_command"]
    assert url["threads"] == 1 and url["age"] is None
