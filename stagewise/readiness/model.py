"""What a readiness check reports: findings by resource, with severity, field, fix and source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["blocks", "broken", "risk"]
BLOCKS: Severity = "blocks"  # the API, the provider or the engine refuses it: the deploy stops
BROKEN: Severity = "broken"  # it deploys, but does not work (a probe that never passes, an alert that never fires)
RISK: Severity = "risk"  # it can fail depending on things the program cannot see (quota, org policy, timing)

SEVERITY_ORDER: dict[str, int] = {BLOCKS: 0, BROKEN: 1, RISK: 2}
SEVERITY_LABEL: dict[str, str] = {BLOCKS: "blocks the deploy", BROKEN: "will not work", RISK: "risk"}


@dataclass(frozen=True)
class Problem:
    """What a rule's check yields: the field it read, what is wrong, and the fix."""

    field: str
    message: str
    fix: str
    source: str = ""  # a more precise source than the rule's own, when one applies (e.g. the schema file)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    phase: str  # "rules", "first-deploy", "second-deploy", "preview"
    resource: str  # logical name ("" for the stack)
    type: str
    urn: str
    field: str
    message: str
    fix: str
    source: str

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKS

    def to_document(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "phase": self.phase,
            "resource": self.resource or None,
            "type": self.type or None,
            "urn": self.urn or None,
            "field": self.field or None,
            "message": self.message,
            "fix": self.fix,
            "source": self.source,
        }

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (SEVERITY_ORDER[self.severity], self.phase, self.resource, self.rule, self.field)
