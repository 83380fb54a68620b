"""Issue 16's acceptance, enforced: every family of mistakes (tests/policy_families.py) has a failing and a
passing fixture through our components and through raw pulumi_gcp resources, and at least as many raw
fixtures as component ones. Whether a fixture fails or passes a family, and which kind it is, comes
from the fixture itself (its expected verdicts, which its own test compares with the analyzer's, and
the resources its program declares), not from a hand-kept label, so a fixture that drifts moves the
count and this test says which family lost what."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import policy_fixtures as f
import pytest
from policy_families import FAMILIES, Family

from stagewise.engine.record import ProgramRun
from stagewise.policy.analyzer import load_pack

MODULES = ("test_policy_evasions", "test_policy_new_rules", "test_policy_family_gaps")
ANY_TYPE = "*"
KINDS = ("component", "raw")


def cases() -> Iterator[Any]:
    for module in MODULES:
        yield from importlib.import_module(module).CASES


CASES = list(cases())
BY_ID = {case.id: case for case in CASES}


@lru_cache(maxsize=None)
def declared(case_id: str) -> ProgramRun:
    case = BY_ID[case_id]
    return f.run(case.program, case.stage)


def kind(case: Any) -> str:
    """component: the program declares one of our ComponentResources (stagewise:*); raw: only pulumi_gcp."""
    return "component" if any(r.type.startswith("stagewise:") for r in declared(case.id).resources) else "raw"


@lru_cache(maxsize=None)
def rule_types() -> dict[str, frozenset[str]]:
    return {rule.name: frozenset(rule.types) for rule in load_pack().RULES}


def governed(family: Family) -> frozenset[str]:
    return family.types or frozenset().union(*(rule_types()[rule] for rule in family.rules))


def fails(case: Any, family: Family) -> bool:
    """The fixture's verdicts include the family's catch: one of its rules (on the stack or a resource of a type
    it reads), or, for a family of types, any rule on a resource of those types."""
    types = governed(family)
    run = declared(case.id)
    for rule, name in case.expected:
        if family.rules and rule not in family.rules:
            continue
        if name == "" and family.rules:
            return True
        if ANY_TYPE in types or {r.type for r in run.resources if r.name == name} & types:
            return True
    return False


def relevant(case: Any, family: Family) -> bool:
    """A passing fixture must declare what the family's rules read, or it passes for nothing."""
    types = governed(family)
    return any(r.custom and (ANY_TYPE in types or r.type in types) for r in declared(case.id).resources)


def tally() -> dict[str, Counter[tuple[str, str]]]:
    counts: dict[str, Counter[tuple[str, str]]] = {name: Counter() for name in FAMILIES}
    for case in CASES:
        for name in case.families:
            counts[name][(kind(case), "fail" if fails(case, FAMILIES[name]) else "pass")] += 1
    return counts


def test_every_fixture_names_known_families_and_ids_are_unique() -> None:
    assert len(BY_ID) == len(CASES), [i for i, n in Counter(c.id for c in CASES).items() if n > 1]
    untagged = [case.id for case in CASES if not case.families]
    unknown = {(case.id, name) for case in CASES for name in case.families if name not in FAMILIES}
    assert not untagged and not unknown, (untagged, unknown)


def test_every_family_names_rules_the_pack_has() -> None:
    missing = {name: sorted(family.rules - set(rule_types())) for name, family in FAMILIES.items() if family.rules - set(rule_types())}
    assert not missing


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_passing_fixture_declares_what_its_families_read(case: Any) -> None:
    idle = [name for name in case.families if not fails(case, FAMILIES[name]) and not relevant(case, FAMILIES[name])]
    assert not idle, f"{case.id} passes {idle} without declaring a type their rules read"


def test_every_family_fails_and_passes_through_components_and_raw_resources() -> None:
    counts = tally()
    missing = {name: [f"{k} {outcome}" for k in KINDS for outcome in ("fail", "pass") if not counts[name][(k, outcome)]]
               for name in FAMILIES}
    assert not {name: gaps for name, gaps in missing.items() if gaps}


def test_raw_fixtures_are_at_least_as_many_as_component_ones() -> None:
    counts = tally()
    short = {name: (sum(n for (k, _), n in c.items() if k == "raw"), sum(n for (k, _), n in c.items() if k == "component"))
             for name, c in counts.items()}
    assert not {name: pair for name, pair in short.items() if pair[0] < pair[1]}, "family: (raw, component)"
