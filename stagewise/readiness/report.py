"""Run every readiness phase on a program run and collect one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stagewise.engine.record import ProgramRun
from stagewise.readiness import rules as catalogue_rules
from stagewise.readiness.inventory import Inventory
from stagewise.readiness.lifecycle import LIFECYCLE_RULES, check_first_deploy, check_second_deploy, second_deploy_overrides
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Finding
from stagewise.readiness.preview import PreviewReport, preview_policies


@dataclass
class ReadinessReport:
    findings: list[Finding]
    rule_count: int
    preview: PreviewReport | None = None
    notes: list[str] = field(default_factory=list)
    second_deploy_changes: dict[str, str] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKS]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def to_document(self) -> dict[str, Any]:
        return {
            "ruleCount": self.rule_count,
            "blocking": self.count(BLOCKS),
            "broken": self.count(BROKEN),
            "risks": self.count(RISK),
            "findings": [f.to_document() for f in self.findings],
            "secondDeploy": {"configChanges": sorted(self.second_deploy_changes)},
            "preview": self.preview.to_document() if self.preview else None,
            "notes": list(self.notes),
        }


def rule_count() -> int:
    return len(catalogue_rules.catalogue()) + len(LIFECYCLE_RULES)


def check_readiness(run: ProgramRun, *, stage: str | None = None, lifecycle: bool = True, preview: bool = True) -> ReadinessReport:
    """The acceptance rules on ``run`` (what `pulumi up` sends), then, when the run can be replayed,
    a second deploy and a first preview of the same program."""
    inventory = Inventory.of(run)
    findings = catalogue_rules.evaluate(inventory)
    notes: list[str] = []
    first = check_first_deploy(inventory)
    findings += first.findings
    overrides: dict[str, str] = {}
    preview_report = None
    if run.spec is None:
        notes.append("the run cannot be replayed: no second deploy or preview was simulated")
    else:
        if lifecycle:
            overrides = second_deploy_overrides(run.config)
            second_run = run.spec.run(generation=2, overrides=overrides)
            second = check_second_deploy(run, second_run, overrides)
            findings += second.findings
            notes += second.notes
        if preview:
            preview_report = preview_policies(run.spec.run(preview=True), stage)
    unique = {(f.rule, f.phase, f.urn, f.field): f for f in findings}
    ordered = sorted(unique.values(), key=lambda f: f.sort_key())
    return ReadinessReport(ordered, rule_count(), preview_report, notes, overrides)
