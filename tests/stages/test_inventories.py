"""Every stage's golden inventory: the exact set of resources each case declares, the values it
promises, the counts per type and the outputs. A refactor that renames a resource (a replacement on
the next `pulumi up`) or drops one fails here. Redraft after a deliberate change with
`python -m stagewise.testing.inventory tests/stages/<stack>/cases.yaml CASE --save`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stagewise.testing.inventory import Case, check, draft, load_cases, plan_of

HERE = Path(__file__).resolve().parent
CASES = [case for path in sorted(HERE.glob("*/cases.yaml")) for case in load_cases(path).values()]


def test_every_stack_has_cases() -> None:
    stacks = {p.name[len("Pulumi."):-len(".yaml")] for p in HERE.parents[1].glob("Pulumi.*.yaml")}
    assert stacks <= {case.stack for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.stack}-{c.name}")
def test_inventory(case: Case) -> None:
    assert case.inventory_path.is_file(), f"draft it: python -m stagewise.testing.inventory {case.inventory_path.parent}/cases.yaml {case.name} --save"
    problems = check(plan_of(case), yaml.safe_load(case.inventory_path.read_text()) or {}, case.inventory_path.name)
    assert not problems, "\n".join(problems)


PLAN = {
    "resources": [
        {"key": "stagewise:index:X$gcp:storage/bucket:Bucket::b", "type": "gcp:storage/bucket:Bucket",
         "inputs": {"location": "EU", "versioning": {"enabled": True}, "lifecycleRules": [{"a": 1}]}, "custom": True},
        {"key": "pulumi:pulumi:Stack$stagewise:index:X::x", "type": "stagewise:index:X", "inputs": {}, "custom": False},
    ],
    "outputs": {"image": "repo/app@sha256:" + "1" * 64, "stage": "mvp"},
}


def test_a_matching_inventory_passes_and_digests_are_any() -> None:
    inventory = draft(PLAN, {"stagewise:index:X$gcp:storage/bucket:Bucket::b": {"location": "EU", "kmsKey": "__missing__"}})
    assert inventory["outputs"]["image"] == "__any__"
    assert inventory["counts"] == {"gcp:storage/bucket:Bucket": 1, "resources": 1, "components": 1}
    assert check(PLAN, inventory) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"keys": []}, "declared but not in the inventory"),
    ({"keys": ["stagewise:index:X$gcp:storage/bucket:Bucket::b", "old::name"]}, "old::name is in the inventory but not declared"),
    ({"values": {"stagewise:index:X$gcp:storage/bucket:Bucket::b": {"location": "US"}}}, "values.stagewise:index:X$gcp:storage/bucket:Bucket::b.location: expected 'US'"),
    ({"values": {"stagewise:index:X$gcp:storage/bucket:Bucket::b": {"versioning": "__missing__"}}}, ".versioning: expected absent"),
    ({"values": {"stagewise:index:X$gcp:storage/bucket:Bucket::b": {"lifecycleRules": []}}}, "expected a list of 0"),
    ({"counts": {"gcp:storage/bucket:Bucket": 2}}, "counts.gcp:storage/bucket:Bucket: expected 2, got 1"),
    ({"outputs": {"stage": "prod"}}, "outputs.stage: expected 'prod'"),
])
def test_each_departure_is_named(change: dict[str, object], expected: str) -> None:
    inventory = {**draft(PLAN), **change}
    problems = check(PLAN, inventory)
    assert any(expected in p for p in problems), problems
