"""Compare two review documents (`stagewise review STACK --format json`), e.g. base branch vs PR.

Resources are matched by URN without its stack and project prefix — the parent-type chain plus
the logical name, which is how the Pulumi engine matches them — so a resource that moves under
another component shows as removed and added, as `pulumi up` would replace it. A resource whose
inputs differ is "changed", with the property paths that differ.

Policy verdicts, deploy-readiness findings and cost are read from the review's sections when those
are installed; a document without them compares on resources alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagewise.engine.wire import SECRET_SIG_KEY, UNKNOWN_VALUE

MANDATORY = "mandatory"


class CompareError(Exception):
    """A document cannot be read as a review; the message names the file and the fix."""


@dataclass(frozen=True)
class Resource:
    key: str
    type: str
    name: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Violation:
    level: str
    policy: str
    resource: str
    message: str

    @property
    def identity(self) -> tuple[str, str, str]:
        # A verdict is "the same" across base and head when rule, resource and level match,
        # even if the message wording changed.
        return (self.policy, self.resource, self.level)


@dataclass(frozen=True, order=True)
class DeployFinding:
    """A deploy-readiness finding of the review (what GCP, the provider or the engine would refuse)."""

    severity: str
    rule: str
    resource: str
    field: str
    phase: str
    message: str
    fix: str
    source: str

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.rule, self.resource, self.field)

    @property
    def blocking(self) -> bool:
        return self.severity == "blocks"


@dataclass
class Snapshot:
    """What one review document says, reduced to what a comparison needs."""

    stack: str
    stage: str
    resources: dict[str, Resource]
    violations: list[Violation] | None  # None: no policy section in the review
    monthly_cost: float | None  # None: no cost section in the review
    cost_by_resource: dict[str, float] = field(default_factory=dict)
    findings: list[DeployFinding] | None = None  # None: no deploy-readiness section in the review


@dataclass(frozen=True)
class PropertyChange:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class ResourceChange:
    kind: str  # "added" | "removed" | "changed"
    resource: Resource
    properties: tuple[PropertyChange, ...] = ()
    cost_delta: float | None = None


@dataclass
class Comparison:
    stack: str
    base: Snapshot | None
    head: Snapshot | None
    changes: list[ResourceChange]
    new_violations: list[Violation]
    resolved_violations: list[Violation]
    # The head could not be reviewed (a YAML typo, a bad key: `stagewise review` exit 2): its message,
    # from a `<stack>.error` file beside the documents. Nothing is compared for such a stack.
    error: str | None = None

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    @property
    def mandatory_violations(self) -> list[Violation]:
        if self.head is None or self.head.violations is None:
            return []
        return [v for v in self.head.violations if v.level == MANDATORY]

    @property
    def blocking_findings(self) -> list[DeployFinding]:
        if self.head is None or self.head.findings is None:
            return []
        return [f for f in self.head.findings if f.blocking]

    @property
    def new_findings(self) -> list[DeployFinding]:
        if self.head is None or self.head.findings is None:
            return []
        if self.base is None or self.base.findings is None:
            return list(self.head.findings)
        known = {f.identity for f in self.base.findings}
        return [f for f in self.head.findings if f.identity not in known]

    @property
    def cost_delta(self) -> float | None:
        before = self.base.monthly_cost if self.base else 0.0
        after = self.head.monthly_cost if self.head else 0.0
        if before is None or after is None:
            return None
        return after - before


# ---------------------------------------------------------------- reading documents


def resource_key(urn: str) -> str:
    """``urn:pulumi:STACK::PROJECT::TYPE-CHAIN::NAME`` -> ``TYPE-CHAIN::NAME``."""
    parts = urn.split("::", 2)
    return parts[2] if len(parts) == 3 and urn.startswith("urn:pulumi:") else urn


def load_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CompareError(f"{path}: cannot read ({exc.strerror}); write it with `stagewise review STACK --format json > {path.name}`") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); write it with `stagewise review STACK --format json`") from exc
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list) or "stack" not in document:
        raise CompareError(f"{path}: not a review document (needs 'stack' and a 'resources' list); write it with `stagewise review STACK --format json`")
    return document


def snapshot(document: Mapping[str, Any]) -> Snapshot:
    resources: dict[str, Resource] = {}
    for item in document["resources"]:
        if not isinstance(item, Mapping) or not item.get("custom", True):
            continue  # components declare nothing billable or deployable themselves
        key = resource_key(str(item.get("urn", "")))
        resources[key] = Resource(key=key, type=str(item.get("type", "")), name=str(item.get("name", "")),
                                  inputs=item.get("inputs") or {})
    cost_total, cost_lines = _cost(document.get("cost"))
    return Snapshot(
        stack=str(document["stack"]),
        stage=str(document.get("stage", document["stack"])),
        resources=resources,
        # the policy section is named "policies"; "policy" is accepted too
        violations=_violations(document.get("policies", document.get("policy"))),
        monthly_cost=cost_total,
        cost_by_resource=cost_lines,
        findings=_findings(document.get("deployReadiness")),
    )


def _findings(section: Any) -> list[DeployFinding] | None:
    if not isinstance(section, Mapping) or not isinstance(section.get("findings"), Sequence):
        return None
    found = []
    for item in section["findings"]:
        if isinstance(item, Mapping):
            urn = item.get("urn")
            found.append(DeployFinding(
                severity=str(item.get("severity") or "risk"), rule=str(item.get("rule") or "?"),
                resource=resource_key(str(urn)) if urn else "(stack)", field=str(item.get("field") or ""),
                phase=str(item.get("phase") or ""), message=str(item.get("message") or ""),
                fix=str(item.get("fix") or ""), source=str(item.get("source") or ""),
            ))
    return sorted(found)


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _violations(section: Any) -> list[Violation] | None:
    if not isinstance(section, Mapping):
        return None
    items = _first(section, "violations", "verdicts", "diagnostics")
    if not isinstance(items, Sequence):
        return []
    found = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        resource = _first(item, "urn", "resourceUrn", "resource") or ""
        found.append(Violation(
            level=str(_first(item, "enforcementLevel", "level", "enforcement") or "advisory").lower(),
            policy=str(_first(item, "policy", "policyName", "rule") or "?"),
            resource=resource_key(str(resource)) if resource else "(stack)",
            message=str(_first(item, "message", "description") or ""),
        ))
    return sorted(found)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, Mapping):  # e.g. {"total": 12.3} or {"usd": 12.3}
        return _number(_first(value, "total", "usd", "monthlyUsd", "monthly"))
    return None


def _cost(section: Any) -> tuple[float | None, dict[str, float]]:
    if not isinstance(section, Mapping):
        return None, {}
    total = _number(_first(section, "totalMonthlyUsd", "monthlyTotalUsd", "monthlyTotal", "totalMonthly", "totalUsd", "total", "monthly"))
    lines: dict[str, float] = {}
    items = _first(section, "resources", "lines", "items")
    if isinstance(items, Sequence):
        for item in items:
            if not isinstance(item, Mapping) or not item.get("urn"):
                continue
            amount = _number(_first(item, "monthlyUsd", "totalMonthlyUsd", "monthly", "total", "usd"))
            if amount is not None:
                key = resource_key(str(item["urn"]))
                lines[key] = lines.get(key, 0.0) + amount
    if total is None and lines:
        total = sum(lines.values())
    return total, lines


# ---------------------------------------------------------------- comparing


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        if SECRET_SIG_KEY in value:
            return {prefix: _Secret(json.dumps(value.get("value"), sort_keys=True, default=str))}
        flat: dict[str, Any] = {}
        for key in sorted(value):
            flat.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat if flat or not prefix else {prefix: {}}
    if isinstance(value, list):
        flat = {}
        for label, item in zip(_list_labels(value), value):
            flat.update(_flatten(item, f"{prefix}[{label}]"))
        return flat if flat or not prefix else {prefix: []}
    return {prefix: value}


@dataclass(frozen=True)
class _Secret:
    """A secret input: compared by value, never shown."""

    value: str


def _list_labels(items: list[Any]) -> list[str]:
    """Items of a list of named blocks (env vars, containers, rules) are matched by name, not
    position, so inserting one shows as one change instead of shifting every later index."""
    for key in ("name", "key", "id"):
        names = [item.get(key) for item in items if isinstance(item, Mapping)]
        if len(names) == len(items) and all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names):
            return [f"{key}={n}" for n in names]
    return [str(index) for index in range(len(items))]


def show_value(value: Any, limit: int = 60) -> str:
    if value is _ABSENT:
        return "(unset)"
    if isinstance(value, _Secret):
        return "[secret]"
    if value == UNKNOWN_VALUE:
        return "(known after apply)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ABSENT = object()


def property_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[PropertyChange, ...]:
    old, new = _flatten(before), _flatten(after)
    changes = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if a != b:
            changes.append(PropertyChange(path=path, before=show_value(a), after=show_value(b)))
    return tuple(changes)


def compare(base: Snapshot | None, head: Snapshot | None) -> Comparison:
    if base is None and head is None:
        raise CompareError("nothing to compare: give a base or a head review")
    stack = (head or base).stack  # type: ignore[union-attr]
    before = base.resources if base else {}
    after = head.resources if head else {}
    base_costs = base.cost_by_resource if base else {}
    head_costs = head.cost_by_resource if head else {}

    # Per-resource deltas only when both sides were priced (a missing side is a stack with nothing).
    priced = (base is None or base.monthly_cost is not None) and (head is None or head.monthly_cost is not None)

    def delta(key: str) -> float | None:
        if not priced or (key not in base_costs and key not in head_costs):
            return None
        return head_costs.get(key, 0.0) - base_costs.get(key, 0.0)

    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            changes.append(ResourceChange("added", after[key], cost_delta=delta(key)))
        elif key not in after:
            changes.append(ResourceChange("removed", before[key], cost_delta=delta(key)))
        else:
            props = property_changes(before[key].inputs, after[key].inputs)
            if props:
                changes.append(ResourceChange("changed", after[key], props, cost_delta=delta(key)))

    base_violations = (base.violations or []) if base else []
    head_violations = (head.violations or []) if head else []
    base_ids = {v.identity for v in base_violations}
    head_ids = {v.identity for v in head_violations}
    # A base reviewed without the policy section says nothing about which verdicts are new.
    base_judged = base is None or base.violations is not None
    return Comparison(
        stack=stack,
        base=base,
        head=head,
        changes=changes,
        new_violations=[v for v in head_violations if v.identity not in base_ids] if base_judged else [],
        resolved_violations=[v for v in base_violations if v.identity not in head_ids] if head is not None else [],
    )


def compare_paths(base: Path, head: Path) -> list[Comparison]:
    """Two files, or two directories of ``<stack>.json`` files paired by name.

    In directory mode a stack missing on one side is all-added or all-removed (a new stack in
    the PR, or a base commit that could not be reviewed).
    """
    if base.is_dir() or head.is_dir():
        if not (base.is_dir() or not base.exists()) or not head.is_dir():
            raise CompareError(f"{base} and {head}: give two review files, or two directories of <stack>.json files")
        base_files = {p.stem: p for p in base.glob("*.json")} if base.is_dir() else {}
        head_files = {p.stem: p for p in head.glob("*.json")}
        head_errors = {p.stem: p.read_text(errors="replace").strip() for p in head.glob("*.error")}
        if not head_files and not head_errors:
            raise CompareError(f"{head}: no <stack>.json review documents; write them with `stagewise review STACK --format json`")
        comparisons = []
        for stack in sorted(set(base_files) | set(head_files) | set(head_errors)):
            old = snapshot(load_document(base_files[stack])) if stack in base_files else None
            if stack in head_errors and stack not in head_files:
                comparisons.append(Comparison(stack, old, None, [], [], [], error=head_errors[stack] or "the review failed"))
                continue
            new = snapshot(load_document(head_files[stack])) if stack in head_files else None
            comparisons.append(compare(old, new))
        return comparisons
    return [compare(snapshot(load_document(base)), snapshot(load_document(head)))]


# ---------------------------------------------------------------- output and command


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    def violation(v: Violation) -> dict[str, str]:
        return {"policy": v.policy, "resource": v.resource, "enforcementLevel": v.level, "message": v.message}

    head_cost = comparison.head.monthly_cost if comparison.head else None
    base_cost = comparison.base.monthly_cost if comparison.base else None
    return {
        "stack": comparison.stack,
        "error": comparison.error,
        "added": comparison.count("added"),
        "changed": comparison.count("changed"),
        "removed": comparison.count("removed"),
        "changes": [
            {"change": c.kind, "resource": c.resource.key, "type": c.resource.type, "name": c.resource.name,
             "properties": [{"path": p.path, "before": p.before, "after": p.after} for p in c.properties],
             "monthlyCostDelta": c.cost_delta}
            for c in comparison.changes
        ],
        "mandatoryViolations": len(comparison.mandatory_violations),
        "blockingFindings": len(comparison.blocking_findings),
        "newFindings": [
            {"severity": f.severity, "rule": f.rule, "resource": f.resource, "field": f.field, "message": f.message, "fix": f.fix}
            for f in comparison.new_findings
        ],
        "newViolations": [violation(v) for v in comparison.new_violations],
        "resolvedViolations": [violation(v) for v in comparison.resolved_violations],
        "monthlyCost": {"base": base_cost, "head": head_cost, "delta": comparison.cost_delta},
    }


def render_text(comparisons: list[Comparison]) -> str:
    blocks = []
    for c in comparisons:
        if c.error is not None:
            blocks.append(f"{c.stack}: could not be reviewed:\n" + "\n".join(f"  {line}" for line in c.error.splitlines()))
            continue
        lines = [f"{c.stack}: {c.count('added')} to add, {c.count('changed')} to change, {c.count('removed')} to remove"]
        mark = {"added": "+", "changed": "~", "removed": "-"}
        for change in c.changes:
            lines.append(f"  {mark[change.kind]} {change.resource.type}  {change.resource.name}")
            lines += [f"      {p.path}: {p.before} -> {p.after}" for p in change.properties]
        for v in c.new_violations:
            lines.append(f"  new {v.level} violation: {v.policy} on {v.resource}: {v.message}")
        for v in c.resolved_violations:
            lines.append(f"  resolved: {v.policy} on {v.resource}")
        for f in c.new_findings:
            lines.append(f"  new deploy finding ({f.severity}): {f.rule} on {f.resource} {f.field}: {f.message}")
        if c.cost_delta is not None:
            head = c.head.monthly_cost if c.head else 0.0
            lines.append(f"  monthly cost: ${head or 0.0:,.2f} ({c.cost_delta:+,.2f})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
