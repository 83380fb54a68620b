"""Every acceptance rule: its source, and its failing and passing fixtures (cases_*.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from harness import Case, findings

from stagewise.readiness.lifecycle import LIFECYCLE_RULES
from stagewise.readiness.rules import catalogue

HERE = Path(__file__).parent
CASE_MODULES = sorted(p.stem for p in HERE.glob("cases_*.py"))
CASES: list[Case] = [case for name in CASE_MODULES for case in importlib.import_module(name).CASES]
RULE_IDS = {r.id for r in catalogue()} | set(LIFECYCLE_RULES)


def test_the_catalogue_has_at_least_sixty_rules_each_with_a_source() -> None:
    assert len(RULE_IDS) >= 60, len(RULE_IDS)
    for item in catalogue():
        assert item.source.startswith("https://") and item.title and item.severity in ("blocks", "broken", "risk"), item.id
    for rule_id, (severity, title, source) in LIFECYCLE_RULES.items():
        assert source.startswith("https://") and title and severity, rule_id


def test_every_rule_has_a_failing_and_a_passing_fixture() -> None:
    missing = sorted(
        f"{rule_id}: {kind}" for rule_id in RULE_IDS for kind in ("fail", "pass")
        if not any(c.rule == rule_id and c.expect == kind for c in CASES)
    )
    assert not missing, "rules without fixtures:\n" + "\n".join(missing)
    unknown = sorted({c.rule for c in CASES} - RULE_IDS)
    assert not unknown, f"fixtures for rules that do not exist: {unknown}"


@pytest.mark.parametrize("case", CASES, ids=[c.label() for c in CASES])
def test_fixture(case: Case) -> None:
    found = [f for f in findings(case) if f.rule == case.rule]
    if case.expect == "pass":
        assert not found, "\n".join(f"{f.resource} {f.field}: {f.message}" for f in found)
        return
    assert found, f"{case.rule} did not fire"
    if case.resource is not None:
        assert any(f.resource == case.resource for f in found), [f.resource for f in found]
    if case.field is not None:
        assert any(f.field.startswith(case.field) for f in found), [f.field for f in found]
    for finding in found:
        assert finding.message and finding.fix and finding.source.startswith("https://")


def test_the_catalogue_page_is_generated_from_the_rules() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "scripts/readiness_catalogue.py", "--check"], cwd=HERE.parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
