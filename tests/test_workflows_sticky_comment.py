"""The sticky PR comment: one bot comment, found by its marker, created once and then updated."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- stagewise-pr-preview -->"

# A stand-in for the GitHub CLI: keeps comments in a JSON file, applies --jq with the real jq.
FAKE_GH = r'''#!/usr/bin/env python3
import json, os, subprocess, sys
args = sys.argv[1:]
state_path = os.environ["FAKE_GH_STATE"]
state = json.load(open(state_path))
def opt(name):
    return args[args.index(name) + 1] if name in args else None
method = opt("--method") or "GET"
path = [a for a in args[1:] if a.startswith("repos/")][0]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(f"{method} {path}\n")
if method == "GET":
    out = json.dumps(state["comments"])
elif method == "PATCH":
    body = json.load(open(opt("--input")))["body"]
    cid = int(path.rsplit("/", 1)[-1])
    for c in state["comments"]:
        if c["id"] == cid:
            c["body"] = body
    out = json.dumps({"html_url": f"https://example.test/c/{cid}"})
else:
    body = json.load(open(opt("--input")))["body"]
    cid = 1000 + len(state["comments"])
    state["comments"].append({"id": cid, "user": {"type": "Bot"}, "body": body})
    out = json.dumps({"html_url": f"https://example.test/c/{cid}"})
json.dump(state, open(state_path, "w"))
jq = opt("--jq")
print(subprocess.run(["jq", "-r", jq], input=out, capture_output=True, text=True, check=True).stdout if jq else out, end="")
'''

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="the fake gh applies --jq with jq")


def _post(tmp_path: Path, comments: list[dict[str, Any]], body: str) -> tuple[dict[str, Any], list[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "state.json"
    if not state.exists():
        state.write_text(json.dumps({"comments": comments}))
    log = tmp_path / "calls.log"
    body_file = tmp_path / "comment.md"
    body_file.write_text(body)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_GH_STATE": str(state),
           "FAKE_GH_LOG": str(log), "GITHUB_REPOSITORY": "acme/chat", "GH_TOKEN": "unused"}
    result = subprocess.run(["bash", str(ROOT / ".github/scripts/sticky_comment.sh"), "7", str(body_file), MARKER],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(state.read_text()), log.read_text().splitlines(), result.stdout


def test_first_run_creates_then_later_runs_update_the_same_comment(tmp_path: Path) -> None:
    human = {"id": 1, "user": {"type": "User"}, "body": f"{MARKER} quoted by a person"}
    state, calls, url = _post(tmp_path, [human], f"{MARKER}\nfirst")
    assert calls == ["GET repos/acme/chat/issues/7/comments", "POST repos/acme/chat/issues/7/comments"]
    assert url.strip() == "https://example.test/c/1001"
    state, calls, _ = _post(tmp_path, [], f"{MARKER}\nsecond")
    assert calls[-1] == "PATCH repos/acme/chat/issues/comments/1001"
    assert [c["body"] for c in state["comments"]] == [f"{MARKER} quoted by a person", f"{MARKER}\nsecond"]


def test_marker_is_added_and_long_bodies_are_cut_below_githubs_limit(tmp_path: Path) -> None:
    state, _, _ = _post(tmp_path, [], "no marker yet\n" + "x" * 80 + "\n" + ("| row |\n" * 12000))
    [comment] = state["comments"]
    assert comment["body"].startswith(MARKER + "\nno marker yet")
    assert len(comment["body"]) < 65536
    assert comment["body"].endswith("(truncated: the job summary has the full review)\n")


def test_bad_pr_number_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(["bash", str(ROOT / ".github/scripts/sticky_comment.sh"), "7; rm -rf /", "x", MARKER],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "PR_NUMBER must be a number" in result.stderr
