#!/usr/bin/env bash
# One command per benchmark. Figures print to stdout; raw JSON lands in bench/out/.
#   bench/run.sh setup     create the benchmark-only envs (bench/.envs/{bench,litellm,app}) and install wrk
#   bench/run.sh app       our app vs LiteLLM vs aiohttp/httpx passthroughs (extra flags go to compare.py)
#   bench/run.sh faults    load with injected upstream faults against our app (e.g. --duration 180)
#   bench/run.sh review    `stagewise review` wall time + peak RSS per stack, all stacks, test suite
#   bench/run.sh profile   py-spy profile of our app under wrk load (where the time goes)
#   bench/run.sh conns     does a server reuse its model-server connection? (--server, --end-gap-ms)
#   bench/run.sh test      the harness's own correctness tests (not timed)
#   bench/run.sh all       setup, then review, app, faults
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
ENVS="$BENCH/.envs"
PY="$ENVS/bench/bin/python"
# Bytecode for every benchmarked process goes to one cache outside the source tree (this sandbox
# sets PYTHONDONTWRITEBYTECODE=1, which would make every start recompile from source).
export BENCH_PYCACHE="$ENVS/pycache"

precompile() {  # precompile <python> <dir>...: fill the bytecode cache once per env
  local py="$1"; shift
  local mark="$BENCH_PYCACHE/.done-$(echo "$py $*" | md5sum | cut -c1-12)"
  [ -f "$mark" ] && return 0
  mkdir -p "$BENCH_PYCACHE"
  PYTHONPYCACHEPREFIX="$BENCH_PYCACHE" PYTHONDONTWRITEBYTECODE= "$py" -m compileall -q -j0 "$@" >/dev/null 2>&1 || true
  touch "$mark"
}

# Each harness stops its own servers on exit or SIGTERM/SIGINT; forward those signals to it.
CHILD=""
trap 'if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" || true; fi; exit 130' INT TERM
run() { "$@" & CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=""; return $rc; }

setup_bench() {
  if ! command -v wrk >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
  fi
  UV_PROJECT_ENVIRONMENT="$ENVS/bench" uv sync -q --frozen --project "$BENCH"
  precompile "$PY" "$ENVS/bench/lib" "$BENCH/harness"
}

setup_litellm() {
  if [ ! -x "$ENVS/litellm/bin/litellm" ]; then
    uv venv -q -p 3.11 "$ENVS/litellm"
    uv pip install -q -p "$ENVS/litellm/bin/python" -r "$BENCH/requirements-litellm.txt"
  fi
  precompile "$ENVS/litellm/bin/python" "$ENVS/litellm/lib"
}

setup_app() {
  # Our app in its own copy of its locked env, so the bench never touches app/.venv.
  if [ -f "$ROOT/app/uv.lock" ]; then
    UV_PROJECT_ENVIRONMENT="$ENVS/app" uv sync -q --frozen --no-dev --project "$ROOT/app"
    precompile "$ENVS/app/bin/python" "$ENVS/app/lib"
    # the app's own source changes often: compileall only redoes changed files
    PYTHONPYCACHEPREFIX="$BENCH_PYCACHE" PYTHONDONTWRITEBYTECODE= "$ENVS/app/bin/python" -m compileall -q "$ROOT/app/src" >/dev/null 2>&1 || true
  else
    echo "app/uv.lock missing: our app cannot be benchmarked yet" >&2
  fi
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  setup) setup_bench; setup_litellm; setup_app ;;
  app) setup_bench; setup_litellm; setup_app; run taskset -c 1 "$PY" "$BENCH/harness/compare.py" "$@" ;;
  faults) setup_bench; setup_app; run taskset -c 1 "$PY" "$BENCH/harness/fault_run.py" "$@" ;;
  review) setup_bench; run "$PY" "$BENCH/harness/review_speed.py" "$@" ;;
  profile) setup_bench; setup_app; run taskset -c 1 "$PY" "$BENCH/harness/profile_app.py" "$@" ;;
  conns) setup_bench; setup_app; run "$PY" "$BENCH/harness/conn_reuse.py" "$@" ;;
  test) setup_bench; cd "$BENCH" && run "$PY" -m pytest tests "$@" ;;
  all)
    setup_bench; setup_litellm; setup_app
    run "$PY" "$BENCH/harness/review_speed.py"
    run taskset -c 1 "$PY" "$BENCH/harness/compare.py"
    run taskset -c 1 "$PY" "$BENCH/harness/fault_run.py"
    ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
