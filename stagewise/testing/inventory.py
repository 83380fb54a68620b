"""Golden inventories of a stack's plan, in the style of Fabric's and genai-factory's plan tests.

An inventory states what a stage promises about the plan it sends the engine:

``keys``     every custom resource as ``TYPE-CHAIN::NAME`` (the URN without stack and project). The
             exact set: a key that appears or vanishes is a resource created or deleted, and a renamed
             one is a replacement, so refactors must leave this list alone.
``values``   chosen inputs per key. Dict keys are a subset of the plan's; lists match in length;
             ``__missing__`` means the input must be absent.
``counts``   resources per type, plus ``resources`` and ``components`` totals.
``outputs``  stack outputs; ``__any__`` accepts any value (e.g. what follows the image digest).

Cases live next to their inventories (``tests/stages/<stack>/cases.yaml``)::

    stack: prod
    values: examples/values/prod.yaml       # optional, laid over the stack file like --values
    cases:
      default: {}
      inference-vertex: {config: {"stagewise:inference": {...}}}

``python -m stagewise.testing.inventory tests/stages/prod/cases.yaml CASE --save`` drafts ``CASE.yaml``
(keys, counts, outputs; values already in the file are kept), to trim and commit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MISSING = "__missing__"
ANY = "__any__"
COMPONENT_PREFIX = "stagewise:index:"


def resource_key(urn: str) -> str:
    """``urn:pulumi:STACK::PROJECT::TYPE-CHAIN::NAME`` -> ``TYPE-CHAIN::NAME``."""
    parts = urn.split("::", 2)
    return parts[2] if len(parts) == 3 and urn.startswith("urn:pulumi:") else urn


@dataclass(frozen=True)
class Case:
    """One scenario of a stack: the config laid over its stack file, and where its inventory lives."""

    stack: str
    name: str
    config: dict[str, str]
    inventory_path: Path
    root: Path


def _config_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def load_cases(path: Path, root: Path | None = None) -> dict[str, Case]:
    """The cases of ``cases.yaml``; ``root`` is the project directory (default: the file's repository)."""
    document = yaml.safe_load(path.read_text()) or {}
    stack = str(document["stack"])
    root = root or _project_root(path)
    base: dict[str, str] = {}
    if document.get("values"):
        values = yaml.safe_load((root / str(document["values"])).read_text()) or {}
        base = {str(k): _config_value(v) for k, v in (values.get("config") or {}).items()}
    cases: dict[str, Case] = {}
    for name, spec in (document.get("cases") or {"default": {}}).items():
        config = {**base, **{str(k): _config_value(v) for k, v in ((spec or {}).get("config") or {}).items()}}
        cases[str(name)] = Case(stack=stack, name=str(name), config=config,
                                inventory_path=path.parent / f"{name}.yaml", root=root)
    return cases


def _project_root(path: Path) -> Path:
    for directory in path.resolve().parents:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise FileNotFoundError(f"{path}: no Pulumi.yaml above it; pass the project root")


def plan_of(case: Case) -> dict[str, Any]:
    """The review-shaped plan of a case: resources (key, type, inputs, custom) and outputs."""
    from stagewise.engine.record import run_stack

    run = run_stack(case.stack, root=case.root, overrides=case.config)
    resources = [
        {"key": resource_key(r.urn), "type": r.type, "inputs": r.inputs, "custom": r.custom}
        for r in run.resources if r.type != "pulumi:pulumi:Stack"
    ]
    return {"resources": resources, "outputs": run.stack_outputs}


def draft(plan: Mapping[str, Any], values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An inventory from a plan: every key, the per-type counts and the outputs."""
    resources = plan["resources"]
    counts: Counter[str] = Counter(r["type"] for r in resources if r["custom"])
    inventory: dict[str, Any] = {
        "keys": sorted(r["key"] for r in resources if r["custom"]),
        "values": dict(values or {}),
        "counts": {**dict(sorted(counts.items())),
                   "resources": sum(counts.values()),
                   "components": sum(1 for r in resources if r["type"].startswith(COMPONENT_PREFIX))},
        "outputs": {k: (ANY if "sha256:" in json.dumps(v) else v) for k, v in sorted(plan["outputs"].items())},
    }
    return inventory


def _compare(expected: Any, actual: Any, where: str, problems: list[str]) -> None:
    if expected == ANY:
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            problems.append(f"{where}: expected a mapping, got {actual!r}")
            return
        for key, value in expected.items():
            if value == MISSING:
                if key in actual:
                    problems.append(f"{where}.{key}: expected absent, got {actual[key]!r}")
            elif key not in actual:
                problems.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                _compare(value, actual[key], f"{where}.{key}", problems)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{where}: expected a list of {len(expected)}, got {actual!r}")
            return
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            _compare(want, got, f"{where}[{index}]", problems)
    elif expected != actual:
        problems.append(f"{where}: expected {expected!r}, got {actual!r}")


def check(plan: Mapping[str, Any], inventory: Mapping[str, Any], label: str = "inventory") -> list[str]:
    """Every way the plan departs from the inventory, each with its file-relative dotted path."""
    problems: list[str] = []
    actual = draft(plan)
    if "keys" in inventory:
        want, got = set(inventory["keys"]), set(actual["keys"])
        problems += [f"{label}: keys: {k} is in the inventory but not declared (deleted or renamed)" for k in sorted(want - got)]
        problems += [f"{label}: keys: {k} is declared but not in the inventory (new, or a rename)" for k in sorted(got - want)]
    by_key = {r["key"]: r["inputs"] for r in plan["resources"]}
    for key, values in (inventory.get("values") or {}).items():
        if key not in by_key:
            problems.append(f"{label}: values: {key} is not declared")
            continue
        _compare(values, by_key[key], f"{label}: values.{key}", problems)
    for name, count in (inventory.get("counts") or {}).items():
        if actual["counts"].get(name, 0) != count:
            problems.append(f"{label}: counts.{name}: expected {count}, got {actual['counts'].get(name, 0)}")
    _compare(inventory.get("outputs") or {}, actual["outputs"], f"{label}: outputs", problems)
    return problems


def save(case: Case, plan: Mapping[str, Any]) -> Path:
    """Write the drafted inventory of ``case``, keeping the ``values`` an earlier file promised."""
    previous: dict[str, Any] = {}
    if case.inventory_path.is_file():
        previous = yaml.safe_load(case.inventory_path.read_text()) or {}
    inventory = draft(plan, previous.get("values"))
    header = (f"# Golden inventory of stack {case.stack}, case {case.name} (stagewise.testing.inventory).\n"
              f"# Redraft: python -m stagewise.testing.inventory {case.inventory_path.parent / 'cases.yaml'} {case.name} --save\n")
    case.inventory_path.write_text(header + yaml.safe_dump(inventory, sort_keys=False, width=140))
    return case.inventory_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stagewise.testing.inventory", description=__doc__.split("\n")[0])
    parser.add_argument("cases", type=Path, help="a cases.yaml")
    parser.add_argument("case", nargs="*", help="case names (default: all)")
    parser.add_argument("--save", action="store_true", help="write each case's inventory instead of checking it")
    args = parser.parse_args(argv)
    cases = load_cases(args.cases)
    failed = False
    for name in args.case or list(cases):
        if name not in cases:
            parser.error(f"no case {name!r} in {args.cases}; cases: {', '.join(cases)}")
        case = cases[name]
        plan = plan_of(case)
        if args.save:
            print(f"wrote {save(case, plan)}")
            continue
        problems = check(plan, yaml.safe_load(case.inventory_path.read_text()) or {}, str(case.inventory_path))
        failed = failed or bool(problems)
        print("\n".join(problems) if problems else f"{case.inventory_path}: matches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
