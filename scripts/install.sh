#!/usr/bin/env bash
# Create .venv/ and install the project into it. Safe to re-run: it skips work that is already done.
#   scripts/install.sh        runtime dependencies
#   scripts/install.sh --dev  runtime + test dependencies, and the system tools the tests use
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "Python 3.11 is required (found $("$PYTHON" --version 2>&1))." >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)

# Every package at the exact version and hash of a lock (requirements*.txt, made by scripts/lock.sh).
want=requirements.txt
[ "${1:-}" = "--dev" ] && want=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename $want)"
if [ ! -f "$stamp" ]; then
  step() { echo "[install] $*"; }
  "${PIP[@]}" --upgrade pip wheel
  # The CPU build of PyTorch, pinned (not in the lock: its wheel comes from the machine's wheel directory
  # or PyTorch's CPU index, not from PyPI, whose torch pulls gigabytes of CUDA packages).
  step "PyTorch 2.13.0 (CPU)"
  "${PIP[@]}" "torch==2.13.0"
  step "Python packages from $want (the first run compiles llama-cpp-python: about 10 minutes on 2 cores;" \
       "pip caches the build after that)"
  # llama.cpp is built for this CPU's vector units (scripts/llama_cmake_args.sh).
  if [ -z "${CMAKE_ARGS:-}" ]; then
    CMAKE_ARGS=$(scripts/llama_cmake_args.sh)
    export CMAKE_ARGS
  fi
  "${PIP[@]}" --require-hashes -r "$want"
  # openai-whisper without its dependencies: they are in the lock, all but triton (about 1 GB), which only
  # serves CUDA GPUs; this server runs Whisper on the CPU.
  step "openai-whisper"
  "${PIP[@]}" --require-hashes --no-deps -r requirements-nodeps.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ "${1:-}" = "--dev" ]; then
  missing=()
  for tool in espeak-ng:espeak-ng sox:sox chromium:chromium ffmpeg:ffmpeg nginx:nginx-light; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "Installing system packages: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
fi
