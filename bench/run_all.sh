#!/usr/bin/env bash
# Run every benchmark and save its output in bench/results/ (takes about 30 minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p results
../.venv/bin/python -m pip install -q -r requirements.txt  # the Starlette floor and py-spy
for bench in relay eventlog local_llm tools stt voice_loop fanout ui_latency concurrency; do
  echo "== $bench"
  ../.venv/bin/python -u "$bench.py" 2>&1 | grep -v "^WARNING\|^20[0-9][0-9]-" | tee "results/$bench.txt"
done
