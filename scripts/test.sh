#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite: all tests on SQLite, the API tests again
# through the real ASGI application, and the API and websocket tests again on PostgreSQL and Redis (started
# here if they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
scripts/services.sh

export PYTHONDONTWRITEBYTECODE=1
echo "== Type checks (mypy, strict on events, the turn, realtime, LLM providers and speech engines)"
.venv/bin/mypy
echo "== SQLite, in-memory channel layer"
.venv/bin/python -m pytest "$@"
echo "== The API tests again, through the project's real ASGI application (Django's test client skips it)"
TEST_API_CLIENT=asgi .venv/bin/python -m pytest tests/api tests/security tests/tools -m "not slow" "$@"
echo "== PostgreSQL and Redis"
DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chat}" \
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}" \
  .venv/bin/python -m pytest tests/api tests/channels tests/reliability tests/security tests/tools -m "not slow" "$@"
