#!/usr/bin/env bash
# The whole test suite, from a fresh clone: needs python3 (with pip), and the package registries.
#   bash scripts/test.sh            infrastructure tests, type checks, app tests, benchmark-harness tests
#   SKIP_APP=1 bash scripts/test.sh infrastructure only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/ensure_uv.sh"

step() { printf '\n== %s\n' "$*"; }

if ! command -v jq >/dev/null 2>&1; then
  step "jq (the workflow tests' fake gh applies --jq with it)"
  (apt-get update -qq && apt-get install -y -qq jq) >/dev/null || echo "could not install jq: its workflow tests will be skipped" >&2
fi

step "infrastructure env (uv sync --locked)"
uv sync --locked -q

step "type check (mypy --strict)"
uv run --locked mypy stagewise $( [ -d policies ] && echo policies ) $( [ -d bootstrap ] && echo bootstrap )

step "infrastructure tests"
uv run --locked pytest tests   # addopts already has -q: one -q keeps the "N passed" line

if [ -z "${SKIP_APP:-}" ] && [ -f app/scripts/test.sh ]; then
  step "chat backend tests (app/, its own env)"
  bash app/scripts/test.sh
fi

if [ -z "${SKIP_BENCH:-}" ] && [ -f bench/run.sh ]; then
  step "benchmark harness tests (bench/, correctness only, nothing timed)"
  bash bench/run.sh test
fi
step "all green"
