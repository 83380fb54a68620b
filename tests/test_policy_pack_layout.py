"""The pack is what `pulumi preview --policy-pack policies` runs: PulumiPolicy.yaml, requirements,
a __main__.py that serves the policies over gRPC, rules importable without this repository."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import grpc
import policy_fixtures as f
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from stagewise.engine.record import REPO_ROOT
from stagewise.policy.config import configure_request, load_config_file, reconcile
from stagewise.policy.analyzer import stage_config_path

PACK = REPO_ROOT / "policies"
ALLOWED_IMPORTS = {"pulumi_policy", "stagewise_policies", "__future__"}


def test_project_file_declares_a_python_pack_with_its_own_virtualenv() -> None:
    document = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert document["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert document["version"]
    assert (PACK / ".gitignore").read_text().split() == ["venv/"]


def test_requirements_pin_what_the_offline_analyzer_runs() -> None:
    # requirements.in names the direct pins; requirements.txt is their lock (tests/test_project_files.py).
    pins = dict(
        line.split("==") for line in (PACK / "requirements.in").read_text().splitlines() if line and not line.startswith("#")
    )
    assert pins == {"pulumi": metadata.version("pulumi"), "pulumi-policy": metadata.version("pulumi-policy")}


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_rules_import_only_the_stdlib_and_the_policy_sdk() -> None:
    for path in PACK.rglob("*.py"):
        if "venv" in path.parts:
            continue
        foreign = {name for name in _imports(path) if name not in ALLOWED_IMPORTS and name not in sys.stdlib_module_names}
        assert not foreign, f"{path.relative_to(REPO_ROOT)} imports {foreign}: the pack runs in its own venv"


def test_main_only_builds_the_pack() -> None:
    tree = ast.parse((PACK / "__main__.py").read_text())
    statements = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)) or
                  (isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant))]
    assert len(statements) == 1 and isinstance(statements[0], ast.Expr)
    call = statements[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "PolicyPack"


@pytest.fixture(scope="module")
def served_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started exactly as the CLI's analyzer host starts it, from a copy outside the repo."""
    import shutil

    copy = tmp_path_factory.mktemp("pack") / "policies"
    shutil.copytree(PACK, copy, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(copy)],
        cwd=copy.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else "no port"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_served_pack_reports_every_rule(served_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty())
    from stagewise.policy.analyzer import load_pack

    assert info.name == "stagewise-gcp" and info.supportsConfig
    assert {p.name for p in info.policies} == {rule.name for rule in load_pack().RULES}
    assert all(p.remediation_steps and p.description and p.severity for p in info.policies)


def test_served_pack_finds_the_same_violations_over_grpc(served_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty())
    settings = reconcile(info, load_config_file(stage_config_path("prod")))
    served_pack.Configure(configure_request(settings))
    run = f.run(f.prod(lambda: f.bucket("b", public_access_prevention="inherited", force_destroy=True)))
    bucket = run.by_name("b")
    response = served_pack.Analyze(analyzer_pb2.AnalyzeRequest(type=bucket.type, properties=bucket.inputs_struct, urn=bucket.urn, name=bucket.name))
    assert {(d.policyName, d.enforcementLevel) for d in response.diagnostics} == {
        ("storage-public-access-prevention", analyzer_pb2.MANDATORY),
        ("storage-no-force-destroy", analyzer_pb2.MANDATORY),
    }
    offline = f.analyzer("prod").evaluate(run).pairs()
    assert offline == {("storage-public-access-prevention", "b"), ("storage-no-force-destroy", "b")}
