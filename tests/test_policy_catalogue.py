"""docs/policies.md is generated from the pack and must match it."""

from __future__ import annotations

from stagewise.policy.catalogue import DOC_PATH, render_catalogue
from stagewise.policy.analyzer import load_pack


def test_catalogue_doc_is_in_sync_with_the_pack() -> None:
    assert DOC_PATH.read_text() == render_catalogue(), "run: uv run python -m stagewise.policy.catalogue --write"


def test_catalogue_lists_every_rule_once_with_its_stage_levels() -> None:
    text = render_catalogue()
    rules = load_pack().RULES
    assert len(rules) >= 45
    for rule in rules:
        rows = [line for line in text.splitlines() if line.startswith(f"| `{rule.name}`")]
        assert len(rows) == 1, rule.name
        assert rule.remediation.replace("|", "\\|") in rows[0]
    run_ingress = next(line for line in text.splitlines() if line.startswith("| `run-ingress-restricted`"))
    assert "| disabled | advisory | mandatory |" in run_ingress


def test_cis_mapping_names_real_rules_and_every_control_is_covered_or_explained() -> None:
    from stagewise.policy.catalogue import CIS_CONTROLS, CIS_MAPPING, CIS_NOT_COVERED

    rules = {rule.name for rule in load_pack().RULES}
    assert set(CIS_MAPPING) <= rules
    mapped = {control.split(" ", 1)[0] for controls in CIS_MAPPING.values() for control in controls}
    assert mapped <= set(CIS_CONTROLS) and set(CIS_NOT_COVERED) <= set(CIS_CONTROLS)
    assert not mapped & set(CIS_NOT_COVERED)
    assert mapped | set(CIS_NOT_COVERED) == set(CIS_CONTROLS), "each CIS control is checked by a rule or says why not"


def test_catalogue_shows_cis_ids_on_rule_rows_and_the_uncovered_controls() -> None:
    text = render_catalogue()
    row = next(line for line in text.splitlines() if line.startswith("| `compute-os-login`"))
    assert "CIS 4.4" in row and "CKV_GCP_34" in row
    assert "## CIS Google Cloud Platform Foundation Benchmark" in text and "| 2.14 | Access Transparency enabled | organization setting |" in text
