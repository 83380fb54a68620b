"""Pulumi.prod.yaml as the engine reads it, with real-looking values where it holds REPLACE-ME.

The substitution works on the shipped stack file itself, key by key, so everything else the file
says (the blocks around each placeholder) is exactly what a user deploys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stagewise.stacks.config.placeholders import MARKER
from stagewise.engine.record import REPO_ROOT, ProgramRun, load_stack_file, run_program

DIGEST = "sha256:" + "4" * 64
PROJECT = "stagewise-prod"
# What each marked key becomes (the key's dotted path, list indices dropped).
REAL: Mapping[str, str] = {
    "gcp:project": PROJECT,
    "stagewise:inference.serverImage": f"docker.io/vllm/vllm-openai@{DIGEST}",
    "stagewise:edge.domains": "chat.acme-corp.dev",
    "stagewise:alerting.emails": "oncall@acme-corp.dev",
    "stagewise:budget.billingAccount": "0A1B2C-3D4E5F-6A7B8C",
}


def _fill(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, path) for item in value]
    if isinstance(value, str) and MARKER in value:
        if path not in REAL:
            raise AssertionError(f"{path} is a placeholder in Pulumi.prod.yaml with no sample value in tests/prod_values.py")
        return REAL[path]
    return value


def prod_config(overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Engine config of the shipped prod stack, placeholders filled, then ``overrides`` (values parsed)."""
    config: dict[str, str] = {}
    for key, raw in load_stack_file("prod", REPO_ROOT).items():
        parsed = json.loads(raw) if raw[:1] in "{[" else raw
        filled = _fill(parsed, key)
        config[key] = filled if isinstance(filled, str) else json.dumps(filled)
    for key, value in (overrides or {}).items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return config


def run_prod(overrides: Mapping[str, Any] | None = None, preview: bool = False) -> ProgramRun:
    from stagewise.stacks.program import main as stagewise_program

    return run_program(stagewise_program, project="stagewise", stack="prod", config=prod_config(overrides), preview=preview)
