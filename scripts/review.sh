#!/usr/bin/env bash
# Review a stack offline, from a fresh clone: `bash scripts/review.sh mvp [--format json|markdown] ...`
# Sets up the locked environment, then runs `stagewise review`. No cloud account, no Pulumi CLI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/ensure_uv.sh"
uv sync --locked -q
exec uv run --locked stagewise review "${@:-mvp}"
