"""`stagewise review` of another team's program (raw pulumi_gcp), as a user runs it: exit codes.

A correct program with a load balancer, Firestore and Cloud Run passes; the same program with one
defect `pulumi up` would refuse exits 3 and names the resource and the field.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).parent / "projects" / "lb-firestore-run"


def review(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "GOOGLE_"))}
    return subprocess.run([sys.executable, "-m", "stagewise.cli", "review", "dev", "--root", str(root), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("project") / "lb-firestore-run"
    shutil.copytree(PROJECT, target)
    return target


def test_a_correct_program_with_a_load_balancer_firestore_and_cloud_run_passes(project: Path) -> None:
    # Deploy readiness passes; the policy pack may still hold opinions (the mvp stage's type
    # allowlist has no load balancer): that is exit 1, never the refused-deploy exit 3.
    done = review(project, "--format", "json")
    assert done.returncode in (0, 1), done.stderr + done.stdout[-4000:]
    document = json.loads(done.stdout)
    readiness = document["deployReadiness"]
    assert readiness["blocking"] == 0 and readiness["broken"] == 0
    assert {r["type"] for r in document["resources"]} >= {
        "gcp:cloudrunv2/service:Service", "gcp:firestore/database:Database", "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    }


@pytest.mark.parametrize(("defect", "resource", "field"), [
    ("no-secret-version", "chat", "template.containers[0].envs"),
    ("too-much-cpu-for-memory", "chat", "template.containers[0].resources.limits"),
    ("neg-timeout", "chat-backend", "timeoutSec"),
])
def test_a_program_the_cloud_would_refuse_exits_3_naming_resource_and_field(project: Path, defect: str, resource: str, field: str) -> None:
    done = review(project, "--config", f"app:break={defect}", "--format", "json")
    assert done.returncode == 3, done.stderr + done.stdout[-2000:]
    blocking = [f for f in json.loads(done.stdout)["deployReadiness"]["findings"] if f["severity"] == "blocks"]
    assert any(f["resource"] == resource and (f["field"] or "").startswith(field) for f in blocking), blocking


def test_help_documents_the_exit_codes() -> None:
    done = subprocess.run([sys.executable, "-m", "stagewise.cli", "review", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "3 GCP, the provider or the engine would refuse the deploy" in " ".join(done.stdout.split())
