"""Per-stage allowlists of resource types, derived from what each stage's composition declares.

`cost-resource-type-allowlist` lets a stage declare only the types its programs declare, so a new
service (Cloud Functions, GKE, Cloud SQL, BigQuery…) needs a deliberate change. The list is derived
here, not typed by hand: each stage's program is run offline under its shipped stack file (with the
sample values of examples/values for the placeholders) and under the config variants the
composition supports (every inference mode, an externally built image, a billing budget, paging
channels), and the union of the custom resource types they declare becomes `allowedTypes` in
`policies/config/<stage>.json`. What a stage allows on top is the hand-written `extraTypes` of the
same entry, which regeneration keeps. The bootstrap program is checked with prod's config
(policies/config/bootstrap.json is prod.json plus documented exceptions, bootstrap/policy_config.py), so
its list goes into prod.json as `projectTypes["stagewise-bootstrap"]`: the rule picks the list of the
project a resource belongs to (from its URN).

    uv run python -m stagewise.policy.allowlist --write    # regenerate after changing a composition
    uv run python -m stagewise.policy.allowlist            # print the derived lists

tests/test_policy_allowlist.py fails when a config file's list is not the derived one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from stagewise.engine.record import REPO_ROOT, ProgramError, _config_value, run_stack
from stagewise.policy.analyzer import POLICIES_DIR, stage_config_path

RULE = "cost-resource-type-allowlist"
STAGES = ("mvp", "staging", "prod", "bootstrap")
# Programs other than the stages, each checked with a stage's config: (program, config it lands in, Pulumi project).
PROJECT_LISTS = {"bootstrap": ("prod", "stagewise-bootstrap")}
VALUES_DIR = REPO_ROOT / "examples" / "values"
BOOTSTRAP_DIR = REPO_ROOT / "bootstrap"
# Packages whose types are not cloud resources (the rule's ignoredPackages default).
IGNORED_PACKAGES = ("pulumi", "stagewise")

_IMAGE = "us-central1-docker.pkg.dev/stagewise-variant/stagewise/chat@sha256:" + "1f" * 32
_BUDGET = {"monthlyUsd": 100, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}
_GEMMA_HF = "google/gemma-3-4b-it"
_INFERENCE: dict[str, dict[str, Any]] = {
    "managed": {"mode": "managed", "model": "gemini-3.1-flash-lite", "fallbackModel": "gemini-3.5-flash"},
    "vertex": {"mode": "vertex", "model": _GEMMA_HF, "minReplicas": 1, "maxReplicas": 1},
    "gpu-vm": {"mode": "gpu-vm", "model": _GEMMA_HF, "minReplicas": 0, "maxReplicas": 1,
               "schedule": {"cron": "0 8 * * 1-5", "durationHours": 10}},
    "cloudrun-gpu": {"mode": "cloudrun-gpu", "model": _GEMMA_HF, "maxInstances": 1},
}


def _values(stage: str) -> dict[str, Any]:
    path = VALUES_DIR / f"{stage}.yaml"
    if not path.is_file():
        return {}
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    return dict(config) if isinstance(config, dict) else {}


def _stack_document(stage: str) -> dict[str, Any]:
    root = BOOTSTRAP_DIR if stage == "bootstrap" else REPO_ROOT
    document = yaml.safe_load((root / f"Pulumi.{stage}.yaml").read_text()) or {}
    config = document.get("config") or {}
    return {**config, **_values(stage)}


def variants(stage: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, top-level config overrides) the stage's composition is derived under."""
    if stage == "bootstrap":
        return [("shipped", {})]
    base = _stack_document(stage)
    service = dict(base.get("stagewise:service") or {})
    found: list[tuple[str, dict[str, Any]]] = [
        ("shipped", {}),
        ("external image", {"stagewise:service": {**service, "image": {"mode": "external", "ref": _IMAGE}}}),
        ("budget", {"stagewise:budget": _BUDGET}),
        # Data Access audit logs (on by default in prod only; mvp and staging may turn them on).
        ("audit logs", {"stagewise:logging": {**dict(base.get("stagewise:logging") or {}), "dataAccessAuditLogs": True}}),
    ]
    if stage == "mvp":  # guardrails are off in the MVP unless a stack turns them on
        found.append(("guardrails", {"stagewise:guardrails": {"enabled": True}}))
    if stage in ("staging", "prod"):
        for mode, settings in _INFERENCE.items():
            found.append((f"inference {mode}", {"stagewise:inference": settings}))
    if stage == "staging":
        test = dict(base.get("stagewise:testInference") or {})
        found.append(("GPU test VM", {"stagewise:testInference": {**test, "accelerator": "nvidia-l4", "machineType": "g2-standard-8"}}))
    if stage == "prod":
        alerting = dict(base.get("stagewise:alerting") or {})
        found.append(("paging", {"stagewise:alerting": {**alerting, "slack": {"channel": "#chat-alerts", "authTokenSecret": "slack-token"},
                                                         "pagerduty": {"serviceKeySecret": "pagerduty-key"}}}))
    return found


def declared_types(stage: str, overrides: Mapping[str, Any]) -> set[str]:
    values = {key: _config_value(value) for key, value in {**_values(stage), **overrides}.items()}
    root = BOOTSTRAP_DIR if stage == "bootstrap" else REPO_ROOT
    run = run_stack(stage, root=root, overrides=values)
    return {r.type for r in run.resources if r.custom and r.type.split(":", 1)[0] not in IGNORED_PACKAGES}


def derive(stage: str) -> list[str]:
    types: set[str] = set()
    for name, overrides in variants(stage):
        try:
            types |= declared_types(stage, overrides)
        except ProgramError as exc:
            raise ProgramError(f"allowlist variant {stage}/{name} does not run: {exc}") from exc
    return sorted(types)


def write(stage: str, types: Sequence[str], pack_dir: Path = POLICIES_DIR) -> bool:
    """Set the derived list in its config (allowedTypes, or projectTypes[<project>] for a program that is not a
    stage), keeping the level and extraTypes; True when the file changed."""
    target, project = PROJECT_LISTS.get(stage, (stage, None))
    path = stage_config_path(target, pack_dir)
    document: dict[str, Any] = json.loads(path.read_text())
    entry = document.get(RULE)
    setting: dict[str, Any] = {"enforcementLevel": "mandatory"} if not isinstance(entry, dict) else dict(entry)
    if isinstance(entry, str):
        setting["enforcementLevel"] = entry
    if project is None:
        setting["allowedTypes"] = list(types)
    else:
        setting["projectTypes"] = {**dict(setting.get("projectTypes") or {}), project: list(types)}
    document[RULE] = dict(sorted(setting.items()))
    text = json.dumps(dict(sorted(document.items())), indent=2) + "\n"
    changed = text != path.read_text()
    path.write_text(text)
    return changed


def configured(stage: str, pack_dir: Path = POLICIES_DIR) -> list[str]:
    """The list a stage's (or program's) config holds now."""
    target, project = PROJECT_LISTS.get(stage, (stage, None))
    entry = json.loads(stage_config_path(target, pack_dir).read_text()).get(RULE) or {}
    value = entry.get("allowedTypes") if project is None else (entry.get("projectTypes") or {}).get(project)
    return [str(item) for item in value or []]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write allowedTypes into policies/config/<stage>.json")
    parser.add_argument("stages", nargs="*", default=list(STAGES), help=f"stages (default: {' '.join(STAGES)})")
    args = parser.parse_args(argv)
    for stage in args.stages:
        types = derive(stage)
        if args.write:
            state = "updated" if write(stage, types) else "unchanged"
            print(f"{stage}: {len(types)} types, {state}")
        else:
            print(f"{stage}:")
            print("\n".join(f"  {token}" for token in types))
    if args.write:
        print("policies/config/bootstrap.json is prod.json plus exceptions: regenerate it with `uv run python -m bootstrap.policy_config`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
