#!/usr/bin/env bash
# Everything the chat backend's tests need, from a fresh machine with python3 (+pip), node/npm
# and apt: the uv env from the lock, the npm Firestore emulator, Debian chromium, hadolint.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
    echo "== uv not found: installing it with pip (once)"
    python3 -m pip install --quiet uv || python3 -m pip install --quiet --user --break-system-packages uv
    export PATH="$HOME/.local/bin:$PATH"
    if ! command -v uv >/dev/null 2>&1; then
        uv() { python3 -m uv "$@"; }  # pip put the module where no bin dir is on PATH
    fi
fi

echo "== uv sync (app env from app/uv.lock)"
uv sync --locked

echo "== Firestore emulator (npm ci from tests/emulator/package-lock.json)"
if [ ! -d tests/emulator/node_modules ]; then
    (cd tests/emulator && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "== Debian chromium for the page test"
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

echo "== hadolint Dockerfile"
uv run hadolint Dockerfile

echo "== mypy --strict src"
uv run mypy

echo "== pytest (one dot per test, a line per file; the count closes it)"
uv run pytest "$@"
