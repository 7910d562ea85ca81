"""The settings a fresh Python process computes from an environment (config/settings.py reads it at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_in_child(**env: str) -> dict:
    """The settings a fresh process computes from this environment."""
    code = (
        "import json, config.settings as s; d = s.DATABASES['default']; "
        "print(json.dumps({'options': d.get('OPTIONS', {}), 'age': d.get('CONN_MAX_AGE'), "
        "'threads': s.DB_THREADS, 'https': [getattr(s, n, None) for n in ('SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER')]}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**base, "DJANGO_SECRET_KEY": "x" * 50, **env})  # fmt: skip
    return json.loads(out.stdout)
