"""docs/policies.md is generated from the pack and must match it."""

from __future__ import annotations

from stagewise.policy_catalogue import DOC_PATH, render_catalogue
from stagewise.policy_engine import load_pack


def test_catalogue_doc_is_in_sync_with_the_pack() -> None:
    assert DOC_PATH.read_text() == render_catalogue(), "run: uv run python -m stagewise.policy_catalogue --write"


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
