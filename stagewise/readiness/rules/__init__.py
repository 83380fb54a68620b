"""The cloud-acceptance catalogue: one module per resource family, each rule with its source.

A rule reads resources of the types it names (or, with no types, the whole inventory) and yields
:class:`~stagewise.readiness.model.Problem` for what GCP or the provider would refuse. It is never
an opinion: a rule without a source (a doc URL or an issue) does not belong here. Rules must not
raise on odd programs: a value they cannot read (absent, unknown, of another shape) is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from stagewise.readiness.inventory import Inventory, Resource
from stagewise.readiness.model import Finding, Problem, Severity

ResourceCheck = Callable[[Resource, Inventory], Iterable[Problem]]
StackCheck = Callable[[Inventory], Iterable[tuple[Resource | None, Problem]]]

# The families, in the order the catalogue lists them. A literal list: a module missing from the
# tree is an import error, not a silently smaller catalogue.
FAMILIES: Sequence[str] = (
    "schema",
    "apis",
    "cloudrun",
    "storage",
    "iam",
    "secrets",
    "firestore",
    "network",
    "edge",
    "compute",
    "monitoring",
    "logging",
    "vertex",
    "modelarmor",
    "registry",
    "scheduler",
    "billing",
)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    source: str
    types: frozenset[str]
    family: str
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def evaluate(self, inventory: Inventory) -> list[Finding]:
        found: list[Finding] = []
        if self.resource_check is not None:
            for resource in inventory.resources:
                if resource.type in self.types:
                    found += [self._finding(resource, p) for p in self.resource_check(resource, inventory)]
        if self.stack_check is not None:
            found += [self._finding(resource, p) for resource, p in self.stack_check(inventory)]
        return found

    def _finding(self, resource: Resource | None, problem: Problem) -> Finding:
        return Finding(
            rule=self.id, severity=self.severity, phase="rules",
            resource=resource.name if resource else "", type=resource.type if resource else "",
            urn=resource.urn if resource else "", field=problem.field, message=problem.message,
            fix=problem.fix, source=problem.source or self.source,
        )


_REGISTRY: dict[str, Rule] = {}


def _family(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def rule(rule_id: str, *, types: Iterable[str], severity: Severity, source: str, title: str) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a check of each resource of ``types``."""

    def register(check: ResourceCheck) -> ResourceCheck:
        _add(Rule(rule_id, title, severity, source, frozenset(types), _family(check.__module__), resource_check=check))
        return check

    return register


def stack_rule(rule_id: str, *, severity: Severity, source: str, title: str, types: Iterable[str] = ()) -> Callable[[StackCheck], StackCheck]:
    """Register a check of the whole inventory (``types``: what it reads, for the catalogue)."""

    def register(check: StackCheck) -> StackCheck:
        _add(Rule(rule_id, title, severity, source, frozenset(types), _family(check.__module__), stack_check=check))
        return check

    return register


def _add(new: Rule) -> None:
    if new.id in _REGISTRY and _REGISTRY[new.id].family != new.family:
        raise RuntimeError(f"readiness rule id {new.id!r} is registered twice")
    if not new.source.startswith("https://"):
        raise RuntimeError(f"readiness rule {new.id!r} has no source URL")
    _REGISTRY[new.id] = new


@cache
def catalogue() -> tuple[Rule, ...]:
    """Every rule, by family then id."""
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
    return tuple(sorted(_REGISTRY.values(), key=lambda r: (FAMILIES.index(r.family), r.id)))


def evaluate(inventory: Inventory) -> list[Finding]:
    found: list[Finding] = []
    for item in catalogue():
        found += item.evaluate(inventory)
    return found
