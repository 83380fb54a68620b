"""What moving from one stack to another adds, removes and changes, and what it costs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stagewise.cost.model import Estimate


@dataclass(frozen=True)
class DiffEntry:
    type: str
    name: str
    before: float
    after: float
    status_before: str | None
    status_after: str | None

    @property
    def delta(self) -> float:
        return self.after - self.before

    def to_document(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "beforeUsd": self.before, "afterUsd": self.after,
                "deltaUsd": self.delta, "statusBefore": self.status_before, "statusAfter": self.status_after}


@dataclass
class CostDiff:
    before: Estimate
    after: Estimate
    added: list[DiffEntry]
    removed: list[DiffEntry]
    changed: list[DiffEntry]

    @property
    def delta(self) -> float:
        return self.after.total - self.before.total

    def to_document(self) -> dict[str, Any]:
        return {
            "from": {"stack": self.before.stack, "monthlyUsd": self.before.total, "unpriced": len(self.before.unpriced)},
            "to": {"stack": self.after.stack, "monthlyUsd": self.after.total, "unpriced": len(self.after.unpriced)},
            "deltaUsd": self.delta,
            "added": [e.to_document() for e in self.added],
            "removed": [e.to_document() for e in self.removed],
            "changed": [e.to_document() for e in self.changed],
        }


def _totals(estimate: Estimate) -> dict[tuple[str, str], tuple[float, str]]:
    """Monthly cost and status by (type, logical name); same-named resources under different parents add up."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for line in estimate.lines:
        key = (line.type, line.name)
        cost, status = found.get(key, (0.0, line.status))
        found[key] = (cost + line.monthly, "unpriced" if "unpriced" in (status, line.status) else status)
    return found


def diff_estimates(before: Estimate, after: Estimate, *, tolerance: float = 0.005) -> CostDiff:
    """Resources matched by type and logical name: added, removed, and changed by more than half a cent."""
    a, b = _totals(before), _totals(after)
    added = [DiffEntry(k[0], k[1], 0.0, b[k][0], None, b[k][1]) for k in b if k not in a]
    removed = [DiffEntry(k[0], k[1], a[k][0], 0.0, a[k][1], None) for k in a if k not in b]
    changed = [
        DiffEntry(k[0], k[1], a[k][0], b[k][0], a[k][1], b[k][1])
        for k in a
        if k in b and (abs(a[k][0] - b[k][0]) > tolerance or a[k][1] != b[k][1])
    ]
    return CostDiff(before=before, after=after, added=added, removed=removed, changed=changed)
