#!/usr/bin/env bash
# Print the secret key kept in the file named by $1, making it first (readable by its owner only) if missing.
set -euo pipefail
file=${1:-var/secret_key}
mkdir -p "$(dirname "$file")"
if [ ! -s "$file" ]; then
  (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > "$file")
fi
chmod 600 "$file"
cat "$file"
