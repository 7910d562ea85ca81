#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the production-configuration tests.
set -uo pipefail
up() { timeout 2 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }
if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! up 6379 && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi
for port in 5432 6379; do
  for _ in $(seq 50); do up $port && break; sleep 0.2; done
  up $port || { echo "Nothing answers on 127.0.0.1:$port (PostgreSQL 5432, Redis 6379)." >&2; exit 1; }
done
