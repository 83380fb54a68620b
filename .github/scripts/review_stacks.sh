#!/usr/bin/env bash
# Review stacks offline into OUT_DIR/<stack>.json (+ <stack>.md with --markdown), from the checkout
# in the current directory, with that checkout's own code and locked environment.
#   review_stacks.sh [--markdown] [--ci-image IMAGE] [--base DIR BASE_OUT_DIR] OUT_DIR STACK...
# --ci-image reviews each stack as CI deploys it: external mode with that image (the config
# image_config.py gives `pulumi config set`), not the stack file's build mode, so build-only
# resources (the image build) don't show as changes CI would never make.
# --base also reviews the same stacks in the checkout DIR (the pull request's base commit), with
# DIR's own code and stack files, into BASE_OUT_DIR (JSON only). All the reviews run in one process
# (python -m stagewise.cli.batch), which imports the Pulumi SDK and the provider once; a base
# whose uv.lock differs from this checkout's is reviewed in its own environment instead. A base
# review that fails only shows in BASE_OUT_DIR; it is not listed as failed.
# A review with a mandatory violation (exit 1) or a deploy the cloud would refuse (exit 3) still
# writes its document; a review that cannot run (exit 2: a YAML typo, a bad key) writes its message
# to OUT_DIR/<stack>.error instead, which `stagewise compare` shows in the PR comment. The stacks
# that failed either way are listed in the `failed` step output (and on stdout); the script itself
# only fails on bad usage, so later steps can still comment.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
markdown=""
ci_image=""
base=""
base_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --markdown) markdown=1; shift ;;
    --ci-image) ci_image="${2:?--ci-image needs an image by digest}"; shift 2 ;;
    --base) base="$(cd "${2:?--base needs a checkout directory}" && pwd)"; base_out="${3:?--base needs an output directory}"; shift 3 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: $0 [--markdown] [--ci-image IMAGE] [--base DIR BASE_OUT_DIR] OUT_DIR STACK..." >&2; exit 2; }
out="$1"; shift
mkdir -p "$out"
[ -z "$base" ] || mkdir -p "$base_out"
out="$(cd "$out" && pwd)"
[ -z "$base" ] || base_out="$(cd "$base_out" && pwd)"
head="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# add_jobs TAG CHECKOUT OUT_DIR MARKDOWN STACK...: one review job per stack into $work/jobs-TAG.jsonl
# (argv, output files), and its stack and output directory into $work/index.
add_jobs() {
  local tag="$1" checkout="$2" dir="$3" md="$4"; shift 4
  local stack values rc pairs pair
  for stack in "$@"; do
    if [ ! -f "$checkout/Pulumi.$stack.yaml" ]; then
      echo "== $stack: no Pulumi.$stack.yaml in this checkout, skipped"
      continue
    fi
    # A stack file that still holds REPLACE-ME values (this toolkit's own) is reviewed with the
    # sample values laid over it; a team's filled-in stack file is reviewed as it is.
    values=()
    if grep -q 'REPLACE-ME' "$checkout/Pulumi.$stack.yaml" && [ -f "$checkout/examples/values/$stack.yaml" ]; then
      values=(--values "$checkout/examples/values/$stack.yaml")
    fi
    rc=0
    if [ -n "$ci_image" ]; then
      pairs="$(cd "$checkout" && uv run --locked python "$HERE/image_config.py" --keep-deployed "$stack" "$ci_image" 2> "$dir/$stack.err")" || rc=2
      while IFS= read -r pair; do
        [ -n "$pair" ] && values+=(--config "$pair")
      done <<< "${pairs:-}"
    fi
    echo "== stagewise review $stack ${values[*]}"
    if [ "$rc" -ne 0 ]; then
      printf '%s\t%s\t%s\t%s\n' "$checkout" "$dir" "$stack" "$md" >> "$work/failed-setup"
      continue
    fi
    if [ -n "$md" ]; then
      # This checkout's own CLI: one review, both renderings.
      mkdir -p "$work/raw"
      python3 - "$checkout" "$work/raw" "$dir" "$stack" "${values[@]}" >> "$work/jobs-$tag.jsonl" <<'PY'
import json, sys
checkout, raw, out, stack, *values = sys.argv[1:]
argv = ["review", stack, "--root", checkout, *values, "--out", raw, "--format", "json", "--format", "markdown"]
print(json.dumps({"checkout": checkout, "argv": argv, "stdout": f"{out}/{stack}.out", "stderr": f"{out}/{stack}.err"}))
PY
    else
      # Any checkout's CLI (an older base too): the JSON document on stdout.
      python3 - "$checkout" "$dir" "$stack" "${values[@]}" >> "$work/jobs-$tag.jsonl" <<'PY'
import json, sys
checkout, out, stack, *values = sys.argv[1:]
argv = ["review", stack, "--root", checkout, *values, "--format", "json"]
print(json.dumps({"checkout": checkout, "argv": argv, "stdout": f"{out}/{stack}.json.part", "stderr": f"{out}/{stack}.err"}))
PY
    fi
    printf '%s\t%s\t%s\t%s\n' "$checkout" "$dir" "$stack" "$md" >> "$work/index"
  done
}

add_jobs head "$head" "$out" "$markdown" "$@"
[ -z "$base" ] || add_jobs base "$base" "$base_out" "" "$@"
touch "$work/index" "$work/failed-setup"

# run_jobs JSONL IN_OWN_ENV_OF: the jobs in one process of this checkout's environment, or (a base
# with another uv.lock) each in its own process of that checkout's environment.
run_jobs() {
  local jobs="$1" own="${2:-}"
  [ -s "$jobs" ] || return 0
  python3 -c 'import json, sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$jobs" > "$jobs.json"
  if [ -z "$own" ]; then
    uv run --locked python -m stagewise.cli.batch "$jobs.json" > "$jobs.codes"
  else
    python3 - "$jobs.json" > "$jobs.codes" <<'PY'
import json, subprocess, sys
codes = []
for job in json.load(open(sys.argv[1])):
    with open(job["stdout"], "w") as out, open(job["stderr"], "w") as err:
        codes.append(subprocess.run(["uv", "run", "--locked", "stagewise", *job["argv"]], cwd=job["checkout"], stdout=out, stderr=err).returncode)
print(json.dumps(codes))
PY
  fi
}
separate=""
if [ -n "$base" ] && ! cmp -s "$head/uv.lock" "$base/uv.lock"; then
  separate=1
  echo "== the base's uv.lock differs: its reviews run in its own environment"
fi
if [ -n "$base" ] && [ -z "$separate" ]; then
  cat "$work/jobs-head.jsonl" "$work/jobs-base.jsonl" > "$work/all.jsonl" 2>/dev/null || true
  run_jobs "$work/all.jsonl"
  codes_file="$work/all.jsonl.codes"
else
  run_jobs "$work/jobs-head.jsonl"
  [ -z "$base" ] || run_jobs "$work/jobs-base.jsonl" "$base"
  python3 - "$work/jobs-head.jsonl.codes" "$work/jobs-base.jsonl.codes" > "$work/codes" <<'PY'
import json, sys, os
print(json.dumps([c for p in sys.argv[1:] if os.path.exists(p) for c in json.load(open(p))]))
PY
  codes_file="$work/codes"
fi
[ -s "$codes_file" ] || echo "[]" > "$codes_file"

# Per job: the document with this checkout's paths made relative (so a base reviewed in another
# directory doesn't show them all as changed), or what stopped it, for the PR comment.
failed=()
index=0
mapfile -t codes < <(python3 -c 'import json, sys; print("\n".join(map(str, json.load(open(sys.argv[1])))))' "$codes_file")
while IFS=$'\t' read -r checkout dir stack md; do
  rc="${codes[$index]:-2}"
  index=$((index + 1))
  part="$dir/$stack.json.part"
  [ -z "$md" ] || part="$work/raw/$stack.json"
  if { [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; } && [ -s "$part" ]; then
    python3 - "$checkout" "$part" > "$dir/$stack.json" <<'PY'
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
    [ -z "$md" ] || cp "$work/raw/$stack.md" "$dir/$stack.md"
  else
    [ "$rc" -ne 0 ] || rc=2
    sed 's/^/    /' "$dir/$stack.err" >&2
    # What stopped it (the message names the file, line or key and the fix).
    if [ -n "$md" ] && [ -f "$work/raw/$stack.error" ]; then
      cp "$work/raw/$stack.error" "$dir/$stack.error"
    else
      sed 's/^stagewise: //' "$dir/$stack.err" > "$dir/$stack.error"
    fi
  fi
  rm -f "$dir/$stack.json.part" "$dir/$stack.out"
  [ "$rc" -eq 0 ] || { [ "$dir" = "$out" ] && failed+=("$stack"); }
done < "$work/index"
while IFS=$'\t' read -r checkout dir stack md; do
  sed 's/^/    /' "$dir/$stack.err" >&2
  sed 's/^stagewise: //' "$dir/$stack.err" > "$dir/$stack.error"
  [ "$dir" != "$out" ] || failed+=("$stack")
done < "$work/failed-setup"
echo "failed: ${failed[*]:-none}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "failed=${failed[*]:-}" >> "$GITHUB_OUTPUT"
fi
