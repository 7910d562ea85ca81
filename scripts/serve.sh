#!/usr/bin/env bash
# Install, migrate, create the default model and a login (printed once), and serve on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$(scripts/secret_key.sh var/secret_key)}"
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py bootstrap
.venv/bin/python manage.py interrupt_orphans
.venv/bin/python manage.py prepare_local_model
export LOCAL_LLM_PRELOAD="${LOCAL_LLM_PRELOAD:-1}"
echo "Serving on http://${HOST:-127.0.0.1}:${PORT:-8000}"
exec .venv/bin/daphne -b "${HOST:-127.0.0.1}" -p "${PORT:-8000}" config.asgi:application
