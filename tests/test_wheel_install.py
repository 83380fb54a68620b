"""The toolkit as another team uses it: the wheel installed into a fresh venv, outside this checkout,
reviewing that team's own program composed from `stagewise.components` (not our stacks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "data" / "third_party"


def _uv() -> str:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH: scripts/test.sh installs it (scripts/ensure_uv.sh)"
    return uv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the built wheel and its locked dependencies (from uv's cache, no network)."""
    work = tmp_path_factory.mktemp("wheel")
    uv = _uv()
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(work / "dist"), "-q", str(ROOT)], check=True, cwd=work)
    wheels = list((work / "dist").glob("stagewise-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, cwd=work)
    # --offline: the dependencies come from the cache `uv sync --locked` filled, never from a registry.
    subprocess.run([uv, "pip", "install", "--offline", "-q", "--python", str(venv / "bin" / "python"), str(wheels[0])],
                   check=True, cwd=work)
    return venv


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "acme-chat"
    shutil.copytree(PROGRAM, project)
    return project


def _run(venv: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / "stagewise"), *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)


def test_wheel_holds_one_namespaced_package(installed: Path) -> None:
    site = next((installed / "lib").glob("python3*/site-packages"))
    assert (site / "stagewise" / "components" / "chat_service.py").is_file()
    assert (site / "stagewise" / "stacks" / "program.py").is_file()
    assert (site / "stagewise" / "policy_pack" / "PulumiPolicy.yaml").is_file()
    assert not (site / "components").exists() and not (site / "stacks").exists()


def test_installed_toolkit_reviews_a_third_party_program(installed: Path, tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = _run(installed, project, "review", "dev", "--format", "json")
    assert done.returncode == 0, done.stderr + done.stdout[-3000:]
    assert "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    assert document["project"] == "acme-chat"
    types = {resource["type"] for resource in document["resources"]}
    assert {"stagewise:index:ChatService", "stagewise:index:BucketSet", "gcp:cloudrunv2/service:Service",
            "gcp:storage/bucket:Bucket"} <= types
    # The bundled stacks did not run: nothing of ours beyond what the team's program declares.
    assert "stagewise:index:FirestoreDatabase" not in types


def test_installed_review_still_sees_what_gcp_would_refuse(installed: Path, tmp_path: Path) -> None:
    project = _project(tmp_path)
    main = project / "__main__.py"
    source = main.read_text()
    assert "opts=pulumi.ResourceOptions(depends_on=apis.ready)" in source
    main.write_text(source.replace("opts=pulumi.ResourceOptions(depends_on=apis.ready)", "opts=None"))
    done = _run(installed, project, "review", "dev")
    assert done.returncode == 3, done.stderr + done.stdout[-3000:]
    assert "api-enabled-after-use" in done.stdout and "files-data" in done.stdout
