"""Settings for the test suite: the project's settings with test databases other processes can open."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("APP_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES, VAR_DIR  # noqa: E402

VAR_DIR.mkdir(parents=True, exist_ok=True)
# A file, not memory, so that a server process started by a test shares the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and "SQLITE_PATH" not in os.environ:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{worker}.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "media"
LLM_CONNECT_TIMEOUT = 2.0
LLM_READ_TIMEOUT = 3.0
# Limits are off for the suite and turned on by the tests of them.
RATE_LIMIT_TURNS_PER_MINUTE = 0
RATE_LIMIT_CONCURRENT_STREAMS = 0
RATE_LIMIT_LOGINS_PER_MINUTE = 0
RATE_LIMIT_VOICE_SOCKETS = 0
# The orphan reaper runs in server processes that ask for it (REALTIME_REAPER=1), not in the test process.
REALTIME_REAPER = os.environ.get("REALTIME_REAPER") == "1"
