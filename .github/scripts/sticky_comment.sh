#!/usr/bin/env bash
# Create or update ONE pull-request comment, found by a marker on its first line, as the workflow's
# bot (never a person's comment that happens to quote the marker). Needs GH_TOKEN and
# GITHUB_REPOSITORY, as set in a workflow.
#   sticky_comment.sh PR_NUMBER BODY_FILE MARKER
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 PR_NUMBER BODY_FILE MARKER" >&2; exit 2; }
pr="$1"; body_file="$2"; marker="$3"
[[ "$pr" =~ ^[0-9]+$ ]] || { echo "PR_NUMBER must be a number, got '$pr'" >&2; exit 2; }
: "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY=owner/name}"
limit=65000 # GitHub rejects comments over 65536 characters
payload="$(mktemp)"
python3 - "$body_file" "$marker" "$limit" > "$payload" <<'PY'
import json, sys
body, marker, limit = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], int(sys.argv[3])
if not body.startswith(marker):
    body = marker + "\n" + body
if len(body) > limit:
    body = body[: limit - 200].rsplit("\n", 1)[0] + "\n\n…(truncated: the job summary has the full review)\n"
print(json.dumps({"body": body}))
PY
existing="$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$pr/comments" \
  --jq ".[] | select(.user.type == \"Bot\" and (.body | startswith(\"$marker\"))) | .id" | head -n 1)"
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" --input "$payload" --jq .html_url
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$pr/comments" --input "$payload" --jq .html_url
fi
rm -f "$payload"
