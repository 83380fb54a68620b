#!/usr/bin/env bash
# Review a stack offline, from a fresh clone: `bash scripts/review.sh mvp [--format json|markdown] ...`
# Sets up the locked environment, then runs `stagewise review`. No cloud account, no Pulumi CLI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=/dev/null  # ensure_uv.sh is checked on its own
source "$ROOT/scripts/ensure_uv.sh"
# Progress goes to stderr, so that `bash scripts/review.sh mvp --format json > mvp.json` stays clean.
echo "== environment (uv sync --locked; a fresh machine downloads ~150 MB first)" >&2
uv sync --locked
echo "== stagewise review ${*:-mvp} (runs the program under mocks, then readiness, policies and cost)" >&2
exec uv run --locked stagewise review "${@:-mvp}"
