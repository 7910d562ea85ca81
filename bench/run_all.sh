#!/usr/bin/env bash
# Run every benchmark and save its output in bench/results/ (takes about 15 minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p results
for bench in relay local_llm stt fanout ui_latency; do
  echo "== $bench"
  ../.venv/bin/python -u "$bench.py" 2>&1 | grep -v "^WARNING\|^20[0-9][0-9]-" | tee "results/$bench.txt"
done
