"""The sample values of examples/values/<stack>.yaml as engine config: what `stagewise review STACK
--values examples/values/<stack>.yaml` lays over the shipped stack file, flattened exactly as the
engine flattens a stack file (top-level keys replace the stack file's whole)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stagewise.engine.record import REPO_ROOT, ProgramRun, _config_value, run_stack

VALUES_DIR = REPO_ROOT / "examples" / "values"


def values_path(stack: str) -> Path:
    return VALUES_DIR / f"{stack}.yaml"


def values_document(stack: str) -> dict[str, Any]:
    """The `config:` block of the sample values file ({} when the stack has none)."""
    path = values_path(stack)
    if not path.is_file():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    assert isinstance(config, dict), f"{path}: config must be a mapping"
    return config


def example_values(stack: str) -> dict[str, str]:
    return {str(key): _config_value(value) for key, value in values_document(stack).items()}


def run_with_values(stack: str, overrides: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> ProgramRun:
    """The shipped stack with its sample values (then ``overrides``) laid over it."""
    return run_stack(stack, root=root, overrides={**example_values(stack), **(overrides or {})})


def write_filled_stack_file(stack: str, directory: Path) -> Path:
    """The user's stack file: the shipped Pulumi.<stack>.yaml with its REPLACE-ME values filled from
    the sample values, written into ``directory`` (with Pulumi.yaml, so it is a project root)."""
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    document.setdefault("config", {}).update(values_document(stack))
    (directory / "Pulumi.yaml").write_text((REPO_ROOT / "Pulumi.yaml").read_text())
    target = directory / f"Pulumi.{stack}.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target
