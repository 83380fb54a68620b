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
