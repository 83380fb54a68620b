#!/usr/bin/env bash
# Review stacks offline into OUT_DIR/<stack>.json (+ <stack>.md with --markdown), from the checkout
# in the current directory, with that checkout's own code and locked environment.
#   review_stacks.sh [--markdown] [--ci-image IMAGE] OUT_DIR STACK...
# --ci-image reviews each stack as CI deploys it: external mode with that image (the config
# image_config.py gives `pulumi config set`), not the stack file's build mode, so build-only
# resources (the image build) don't show as changes CI would never make.
# A review with a mandatory violation (exit 1) or a deploy the cloud would refuse (exit 3) still
# writes its document; a review that cannot run (exit 2: a YAML typo, a bad key) writes its message
# to OUT_DIR/<stack>.error instead, which `stagewise compare` shows in the PR comment. The stacks
# that failed either way are listed in the `failed` step output (and on stdout); the script itself
# only fails on bad usage, so later steps can still comment.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
markdown=""
ci_image=""
while [ $# -gt 0 ]; do
  case "$1" in
    --markdown) markdown=1; shift ;;
    --ci-image) ci_image="${2:?--ci-image needs an image by digest}"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: $0 [--markdown] [--ci-image IMAGE] OUT_DIR STACK..." >&2; exit 2; }
out="$1"; shift
mkdir -p "$out"
failed=()
for stack in "$@"; do
  if [ ! -f "Pulumi.$stack.yaml" ]; then
    echo "== $stack: no Pulumi.$stack.yaml in this checkout, skipped"
    continue
  fi
  # A stack file that still holds REPLACE-ME values (this toolkit's own) is reviewed with the
  # sample values laid over it; a team's filled-in stack file is reviewed as it is.
  values=()
  if grep -q 'REPLACE-ME' "Pulumi.$stack.yaml" && [ -f "examples/values/$stack.yaml" ]; then
    values=(--values "examples/values/$stack.yaml")
  fi
  rc=0
  if [ -n "$ci_image" ]; then
    pairs="$(uv run --locked python "$HERE/image_config.py" --keep-deployed "$stack" "$ci_image" 2> "$out/$stack.err")" || rc=2
    while IFS= read -r pair; do
      [ -n "$pair" ] && values+=(--config "$pair")
    done <<< "${pairs:-}"
  fi
  echo "== stagewise review $stack ${values[*]}"
  if [ "$rc" -eq 0 ]; then
    uv run --locked stagewise review "$stack" --root "$PWD" "${values[@]}" --format json > "$out/$stack.json.part" 2> "$out/$stack.err" || rc=$?
  fi
  if [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; then
    # Paths inside this checkout (e.g. a Docker build context) become relative, so a base
    # reviewed in another directory doesn't show them all as changed.
    python3 - "$PWD" "$out/$stack.json.part" > "$out/$stack.json" <<'PY'
import json, sys
root, path = sys.argv[1].rstrip("/") + "/", sys.argv[2]
def relative(value):
    if isinstance(value, str):
        return value[len(root):] if value.startswith(root) else value
    if isinstance(value, list):
        return [relative(item) for item in value]
    if isinstance(value, dict):
        return {key: relative(item) for key, item in value.items()}
    return value
json.dump(relative(json.load(open(path))), sys.stdout, indent=2)
PY
    rm -f "$out/$stack.json.part"
  else
    rm -f "$out/$stack.json.part"
    sed 's/^/    /' "$out/$stack.err" >&2
    # What stopped it, for the PR comment (the message names the file, line or key and the fix).
    sed 's/^stagewise: //' "$out/$stack.err" > "$out/$stack.error"
  fi
  if [ -n "$markdown" ] && { [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; }; then
    uv run --locked stagewise review "$stack" --root "$PWD" "${values[@]}" --format markdown > "$out/$stack.md" 2>/dev/null || true
  fi
  [ "$rc" -eq 0 ] || failed+=("$stack")
done
echo "failed: ${failed[*]:-none}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "failed=${failed[*]:-}" >> "$GITHUB_OUTPUT"
fi
