#!/usr/bin/env bash
# The whole test suite, from a fresh clone: needs python3 (with pip), and the package registries.
#   bash scripts/test.sh            infrastructure tests, type checks, app tests, benchmark-harness tests
#   SKIP_APP=1 bash scripts/test.sh infrastructure only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=/dev/null  # ensure_uv.sh is checked on its own
source "$ROOT/scripts/ensure_uv.sh"

# A line before every step that can take long, with the seconds elapsed so far: nothing is silent
# for long, and a slow step shows which.
step() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }

if ! command -v jq >/dev/null 2>&1; then
  step "jq (the workflow tests' fake gh applies --jq with it)"
  (apt-get update -qq && apt-get install -y -qq jq) >/dev/null || echo "could not install jq: its workflow tests will be skipped" >&2
fi

step "infrastructure env (uv sync --locked; a fresh machine downloads ~150 MB first)"
uv sync --locked

step "type check (mypy --strict; ~1 min on a fresh cache)"
packages=(stagewise)
for optional in policies bootstrap; do [ -d "$optional" ] && packages+=("$optional"); done
uv run --locked mypy "${packages[@]}"

step "infrastructure tests (one dot per test, a line per file; the count closes it)"
uv run --locked pytest tests

if [ -z "${SKIP_APP:-}" ] && [ -f app/scripts/test.sh ]; then
  step "chat backend tests (app/, its own env)"
  bash app/scripts/test.sh
fi

if [ -z "${SKIP_BENCH:-}" ] && [ -f bench/run.sh ]; then
  step "benchmark harness tests (bench/, correctness only, nothing timed)"
  bash bench/run.sh test
fi
step "all green"
