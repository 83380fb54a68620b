"""The scripts the workflows run: review every stack into documents, point a stack at CI's image."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from stack_values import write_filled_stack_file

from stagewise.engine import run_stack

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / ".github" / "scripts"
DIGEST = "us-central1-docker.pkg.dev/stagewise-ci/stagewise/chat@sha256:" + "ab" * 32


def _set_image(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPTS / "set_image.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("stack", [s for s in ("mvp", "staging", "prod") if (ROOT / f"Pulumi.{s}.yaml").is_file()])
def test_set_image_points_the_stack_at_the_digest_and_the_stack_still_validates(tmp_path: Path, stack: str) -> None:
    write_filled_stack_file(stack, tmp_path)  # the user's stack file: placeholders replaced
    result = _set_image(tmp_path, stack, DIGEST)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((tmp_path / f"Pulumi.{stack}.yaml").read_text())["config"]
    # ignoreChanges false: the engine must roll every new digest out (a hidden image never deploys).
    assert config["stagewise:service"]["image"] == {"mode": "external", "ref": DIGEST, "ignoreChanges": False}
    run = run_stack(stack, root=tmp_path)
    images = {c["image"] for r in run.of_type("gcp:cloudrunv2/service:Service")
              for c in r.inputs["template"]["containers"] if "chat" in c["image"]}
    assert images == {DIGEST}
    assert run.of_type("docker:index/image:Image") == []  # nothing is built during the deploy


def test_set_image_refuses_a_tag_and_a_missing_stack(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.mvp.yaml", tmp_path / "Pulumi.mvp.yaml")
    tagged = _set_image(tmp_path, "mvp", "us-central1-docker.pkg.dev/p/r/chat:latest")
    assert tagged.returncode != 0 and "not a reference by digest" in tagged.stderr
    missing = _set_image(tmp_path, "prod", DIGEST)
    assert missing.returncode != 0 and "no Pulumi.prod.yaml here" in missing.stderr


def test_review_stacks_writes_documents_and_lists_failures(tmp_path: Path) -> None:
    out = tmp_path / "reviews"
    result = subprocess.run(["bash", str(SCRIPTS / "review_stacks.sh"), "--markdown", str(out), "mvp", "nope"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env={
                                **__import__("os").environ, "GITHUB_OUTPUT": str(tmp_path / "output")})
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "mvp.json").read_text())
    assert document["stack"] == "mvp" and document["resources"]
    assert str(ROOT) + "/" not in (out / "mvp.json").read_text()  # checkout paths are made relative
    builds = [r["inputs"]["build"]["context"] for r in document["resources"] if r["type"] == "docker:index/image:Image"]
    assert builds in ([], ["app"])
    assert (out / "mvp.md").read_text().startswith("### stagewise review: `mvp`")
    assert "nope: no Pulumi.nope.yaml in this checkout, skipped" in result.stdout
    assert not (out / "nope.json").exists()
    output = (tmp_path / "output").read_text()
    policy = document.get("policies", {})
    readiness = document.get("deployReadiness", {})
    failing = policy.get("mandatoryCount") or readiness.get("blocking") or (readiness.get("preview") or {}).get("mandatoryCount")
    expected = "failed=mvp" if failing else "failed="
    assert output.strip() == expected


# --- the setup and test scripts say what they are doing --------------------------------------------------------

LONG_STEP = ("uv sync", "pip install", "npm ci", "apt-get install", "mypy", "pytest", "bash app/scripts/test.sh",
             "bench/run.sh", "hadolint", "stagewise review")
SETUP_SCRIPTS = ("scripts/test.sh", "scripts/review.sh", "scripts/ensure_uv.sh", "app/scripts/test.sh")


@pytest.mark.parametrize("script", SETUP_SCRIPTS)
def test_every_long_step_is_announced_first(script: str) -> None:
    # A condition (`if [ -f bench/run.sh ]`, `command -v uv`) runs nothing long.
    lines = [line.strip() for line in (ROOT / script).read_text().splitlines()]
    lines = ["#" if line.startswith(("if ", "elif ")) else line for line in lines]
    announced = -10
    for number, line in enumerate(lines):
        if line.startswith(("echo \"==", "step \"")):
            announced = number
        elif not line.startswith("#") and any(step in line for step in LONG_STEP) and "command -v" not in line:
            assert number - announced <= 4, f"{script}:{number + 1} runs `{line}` with no progress line just before it"
            assert not any(step in other for other in lines[announced + 1:number] for step in LONG_STEP
                           if not other.startswith("#") and "command -v" not in other), f"{script}:{number + 1}: one line per step"


def test_review_script_prints_progress_on_stderr_and_only_the_review_on_stdout() -> None:
    done = subprocess.run(["bash", "scripts/review.sh", "mvp", "--format", "json", "--no-lifecycle", "--no-preview"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stack"] == "mvp"
    assert "== environment" in done.stderr and "== stagewise review mvp --format json" in done.stderr


@pytest.mark.parametrize("flags", [["-q"], []])
def test_pytest_closes_with_its_count(flags: list[str]) -> None:
    # pyproject's addopts carries no -q, so the usual `pytest -q` (one -q) keeps the "N passed" line.
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_readme.py", "-k", "relative_links", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(line.lstrip("= ").startswith("1 passed") for line in done.stdout.splitlines()), done.stdout
