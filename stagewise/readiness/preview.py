"""The policy pack as a real first `pulumi preview --policy-pack` sees the program.

Before a first deploy every computed output is unknown, so inputs built from them are unknown
too, and pulumi-policy stops a rule that touches one with an advisory "can't run policy ...
during preview" (https://www.pulumi.com/docs/iac/crossguard/core-concepts/), whatever its level.
A mandatory rule that fails on what is known fails the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stagewise.engine.record import ProgramRun
from stagewise.policy.analyzer import PolicyReport, Verdict, evaluate_stage


@dataclass
class PreviewReport:
    report: PolicyReport
    unknown_inputs: int

    @property
    def mandatory(self) -> list[Verdict]:
        return [v for v in self.report.mandatory if not v.unverified]

    @property
    def unverified(self) -> list[Verdict]:
        return [v for v in self.report.verdicts if v.unverified]

    def to_document(self) -> dict[str, Any]:
        return {
            "config": self.report.config_source,
            "resourcesWithUnknownInputs": self.unknown_inputs,
            "mandatoryCount": len(self.mandatory),
            "unverifiedCount": len(self.unverified),
            "mandatory": [v.to_document() for v in self.mandatory],
            "unverified": [v.to_document() for v in self.unverified],
        }


def preview_policies(preview_run: ProgramRun, stage: str | None = None) -> PreviewReport:
    from stagewise.readiness.inventory import Inventory, is_unknown

    unknown = sum(1 for r in Inventory.of(preview_run).resources if is_unknown(r.inputs))
    return PreviewReport(evaluate_stage(preview_run, stage), unknown)
