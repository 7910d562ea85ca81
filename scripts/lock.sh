#!/usr/bin/env bash
# Lock every dependency to an exact version with hashes, from the ranges in requirements*.in:
#   scripts/lock.sh                  the newest versions the ranges allow (an upgrade)
#   scripts/lock.sh -c constraints   versions held to a constraints file (e.g. `pip freeze` of a working venv)
# Then run the whole suite (scripts/test.sh): tests/compat/ fails where an upgrade changed framework code
# that this project follows.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q uv
compile() { .venv/bin/uv pip compile "$@" --generate-hashes --python-platform linux --python-version 3.11 \
  --no-header --no-annotate --quiet; }
compile requirements.in "$@" -o requirements.txt
compile requirements-dev.in "$@" -o requirements-dev.txt
compile requirements-nodeps.in --no-deps -o requirements-nodeps.txt
echo "Locked: requirements.txt, requirements-dev.txt, requirements-nodeps.txt"
