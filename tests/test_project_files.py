"""Project files Pulumi reads: the programs' Python toolchain, and the policy pack's locked requirements."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("project", "virtualenv"), [("Pulumi.yaml", ".venv"), ("bootstrap/Pulumi.yaml", "../.venv")])
def test_programs_run_the_locked_root_env_through_uv(project: str, virtualenv: str) -> None:
    # https://www.pulumi.com/docs/iac/concepts/projects/project-file/: runtime options toolchain (pip, poetry
    # or uv) and virtualenv (with pip or uv). With uv, Pulumi runs `uv sync` where it finds uv.lock.
    options = yaml.safe_load((ROOT / project).read_text())["runtime"]["options"]
    assert options == {"toolchain": "uv", "virtualenv": virtualenv}
    assert ((ROOT / project).parent / virtualenv).resolve() == ROOT / ".venv"


def _locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip requirements file written one requirement per logical line."""
    text = path.read_text().replace("\\\n", " ")
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)(?:\s*;[^-]*)?((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert match, f"{path.name}: not pinned with hashes: {line[:100]}"
        hashes = match[3].split()
        assert hashes, f"{path.name}: {match[1]} has no --hash (pip's hash-checking mode needs one on every line)"
        entries[match[1].lower()] = (match[2], hashes)
    return entries


def test_the_policy_packs_requirements_are_locked_at_the_root_envs_versions() -> None:
    # Pulumi pip-installs a Python pack's requirements.txt into its virtualenv
    # (https://www.pulumi.com/docs/insights/policy/policy-packs/project-file/); --hash on every line is
    # pip's hash-checking mode (https://pip.pypa.io/en/stable/topics/secure-installs/#hash-checking-mode).
    locked = _locked(ROOT / "policies" / "requirements.txt")
    direct = dict(line.split("==") for line in (ROOT / "policies" / "requirements.in").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert {name: locked[name][0] for name in direct} == direct
    assert {"grpcio", "protobuf", "dill", "semver"} <= set(locked)  # transitive ones are pinned too
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    root_versions = {package["name"]: package["version"] for package in lock["package"] if "version" in package}
    for name, (version, _) in locked.items():
        assert root_versions.get(name) == version, f"{name}: pack {version}, root env {root_versions.get(name)}: run bash scripts/lock_policy_requirements.sh"
