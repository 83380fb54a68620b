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

from stagewise.engine.record import run_stack

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / ".github" / "scripts"
DIGEST = "us-central1-docker.pkg.dev/stagewise-ci/stagewise/chat@sha256:" + "ab" * 32


def _image_config(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPTS / "image_config.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("stack", [s for s in ("mvp", "staging", "prod") if (ROOT / f"Pulumi.{s}.yaml").is_file()])
def test_image_config_points_the_stack_at_the_digest_without_touching_the_stack_file(tmp_path: Path, stack: str) -> None:
    stack_file = write_filled_stack_file(stack, tmp_path)  # the user's stack file: placeholders replaced
    before = stack_file.read_text()
    result = _image_config(tmp_path, stack, DIGEST)
    assert result.returncode == 0, result.stderr
    assert stack_file.read_text() == before  # `pulumi config set --path` does the writing in CI
    pairs = dict(line.split("=", 1) for line in result.stdout.splitlines())
    # ignoreChanges false: the engine must roll every new digest out (a hidden image never deploys).
    assert pairs["stagewise:service.image.mode"] == "external" and pairs["stagewise:service.image.ref"] == DIGEST
    assert pairs["stagewise:service.image.ignoreChanges"] == "false"
    # The same pairs as `stagewise review --config` (pulumi config set --path semantics) give the deploy.
    run = run_stack(stack, root=tmp_path, overrides=pairs)
    images = {c["image"] for r in run.of_type("gcp:cloudrunv2/service:Service")
              for c in r.inputs["template"]["containers"] if "chat" in c["image"]}
    assert images == {DIGEST}
    assert run.of_type("docker:index/image:Image") == []  # nothing is built during the deploy
    kept = _image_config(tmp_path, "--keep-deployed", stack, DIGEST)
    assert "stagewise:service.image.ignoreChanges=true" in kept.stdout.splitlines()


def test_image_config_refuses_a_tag_a_missing_stack_and_reports_a_yaml_typo(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.mvp.yaml", tmp_path / "Pulumi.mvp.yaml")
    tagged = _image_config(tmp_path, "mvp", "us-central1-docker.pkg.dev/p/r/chat:latest")
    assert tagged.returncode != 0 and "not a reference by digest" in tagged.stderr
    missing = _image_config(tmp_path, "prod", DIGEST)
    assert missing.returncode != 0 and "no Pulumi.prod.yaml here" in missing.stderr
    (tmp_path / "Pulumi.mvp.yaml").write_text("config:\n  stagewise:service: {image: [\n")
    typo = _image_config(tmp_path, "mvp", DIGEST)
    assert typo.returncode != 0 and "Pulumi.mvp.yaml line 3" in typo.stderr and "Traceback" not in typo.stderr


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


def test_review_stacks_reviews_the_mode_ci_deploys_and_reports_a_broken_stack_file(tmp_path: Path) -> None:
    # A checkout whose staging file has a YAML typo: the PR comment must say so, not die or show
    # staging as removed; mvp is reviewed in external mode, so no image build appears in it.
    checkout = tmp_path / "checkout"
    (checkout / "examples").mkdir(parents=True)
    (checkout / "examples" / "values").symlink_to(ROOT / "examples" / "values")
    for name in ("Pulumi.yaml", "Pulumi.mvp.yaml"):
        shutil.copy(ROOT / name, checkout / name)
    (checkout / "Pulumi.staging.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text().replace("config:", "config:\n  stagewise:service: {x: [", 1))
    # `uv run --locked X` is this test's own environment running X (a real uv would set up an env
    # for the scratch checkout); the script passes --root "$PWD", so the checkout's files are read.
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "uv").write_text('#!/usr/bin/env bash\n[ "$1" = run ] && shift\n[ "$1" = --locked ] && shift\nexec "$@"\n')
    (shim / "uv").chmod(0o755)
    path = f"{shim}:{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"
    out = tmp_path / "reviews"
    env = {**__import__("os").environ, "GITHUB_OUTPUT": str(tmp_path / "output"), "PATH": path}
    result = subprocess.run(["bash", str(SCRIPTS / "review_stacks.sh"), "--ci-image", DIGEST, str(out), "mvp", "staging"],
                            cwd=checkout, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "mvp.json").read_text())
    assert not [r for r in document["resources"] if r["type"] == "docker:index/image:Image"]
    assert not (out / "staging.json").exists()
    error = (out / "staging.error").read_text()
    assert "Pulumi.staging.yaml line" in error and "not valid YAML" in error and "Traceback" not in error
    assert "staging" in (tmp_path / "output").read_text()
    compared = subprocess.run([sys.executable, "-m", "stagewise.cli", "compare", str(out), str(out), "--title", "t"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert compared.returncode == 0, compared.stderr
    assert "Could not be reviewed" in compared.stdout and "Pulumi.staging.yaml line" in compared.stdout
    assert "Stack removed" not in compared.stdout and "could not be reviewed:** `staging`" in compared.stdout
    # Without --ci-image the review itself meets the typo: the same report.
    plain = subprocess.run(["bash", str(SCRIPTS / "review_stacks.sh"), str(tmp_path / "plain"), "staging"],
                           cwd=checkout, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert plain.returncode == 0, plain.stderr
    assert "Pulumi.staging.yaml line" in (tmp_path / "plain" / "staging.error").read_text()


def test_review_stacks_reviews_the_base_checkout_with_its_own_files_in_the_same_call(tmp_path: Path) -> None:
    # The base: this checkout's code, with a staging file that cannot be read. Its failure shows in
    # the base's directory only; the head's `failed` list is the head's.
    base = tmp_path / "base"
    archive = subprocess.run(["git", "archive", "HEAD", "stagewise", "policies", "examples/values", "Pulumi.yaml", "Pulumi.mvp.yaml",
                              "Pulumi.staging.yaml", "uv.lock"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(base, filter="data")
    (base / "uv.lock").write_text((ROOT / "uv.lock").read_text())  # the same environment: one process
    (base / "Pulumi.staging.yaml").write_text("config:\n  stagewise:service: {x: [\n")
    out = tmp_path / "reviews"
    result = subprocess.run(["bash", str(SCRIPTS / "review_stacks.sh"), "--base", str(base), str(out / "base"), str(out / "head"),
                             "mvp", "staging"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                            env={**__import__("os").environ, "GITHUB_OUTPUT": str(tmp_path / "output")})
    assert result.returncode == 0, result.stderr
    assert "uv.lock differs" not in result.stdout
    for side in ("base", "head"):
        assert json.loads((out / side / "mvp.json").read_text())["stack"] == "mvp"
        assert str(base) + "/" not in (out / side / "mvp.json").read_text() and str(ROOT) + "/" not in (out / side / "mvp.json").read_text()
    assert json.loads((out / "head" / "staging.json").read_text())["stack"] == "staging"
    assert "Pulumi.staging.yaml line" in (out / "base" / "staging.error").read_text()
    assert "staging" not in (tmp_path / "output").read_text()


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
