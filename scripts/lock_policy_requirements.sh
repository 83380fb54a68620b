#!/usr/bin/env bash
# Lock the policy pack's requirements: policies/requirements.in -> policies/requirements.txt, every
# package (transitive ones too) pinned with its hashes, at the versions uv.lock gives the root env,
# so that the pack `pulumi preview --policy-pack policies` installs is the one the offline review ran.
#
# Pulumi installs a Python policy pack with pip from requirements.txt into the pack's virtualenv
# (https://www.pulumi.com/docs/insights/policy/policy-packs/project-file/, "Pulumi automatically
# creates the virtual environment and installs dependencies from requirements.txt into it"); a file
# whose requirements carry --hash puts pip in hash-checking mode for all of them
# (https://pip.pypa.io/en/stable/topics/secure-installs/#hash-checking-mode).
#   bash scripts/lock_policy_requirements.sh    rewrite policies/requirements.txt
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=/dev/null  # ensure_uv.sh is checked on its own
source "$ROOT/scripts/ensure_uv.sh"
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
echo "== the root env's versions (uv export from uv.lock)" >&2
uv export --frozen --format requirements-txt --no-dev --no-hashes --no-emit-project --quiet > "$constraints"
echo "== uv pip compile policies/requirements.in (hashes, every platform, Python 3.11+)" >&2
uv pip compile policies/requirements.in --constraint "$constraints" --generate-hashes --universal \
  --python-version 3.11 --no-annotate --no-header --quiet --output-file policies/requirements.txt.new
{
  echo "# Locked by \`bash scripts/lock_policy_requirements.sh\` from policies/requirements.in at uv.lock's versions;"
  echo "# pip installs it in hash-checking mode (every line has --hash). Do not edit by hand."
  cat policies/requirements.txt.new
} > policies/requirements.txt
rm policies/requirements.txt.new
