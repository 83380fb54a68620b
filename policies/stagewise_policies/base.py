"""How a stagewise rule is declared: metadata, config schema with mirrored defaults, and the check.

A check is a plain function that yields `Finding(problem, fix)`; the wrapper turns each finding
into a violation message that names the resource and the fix. Checks never put property values
that could be secret into a message (the engine hands policies secrets in plain text).

Unknown values (preview): touching one raises `UnknownValueError`. Rules declared with
`unknowns="skip"` let it propagate: the SDK reports an advisory "can't run during preview" and the
rule runs again on known values during `pulumi up`, before the resource is created. Rules declared
with `unknowns="fail-closed"` report a violation instead ("cannot verify at preview"): used where
the value should always be a literal in the program (roles, ranges, ingress…).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

Family = Literal["iam", "storage", "network", "runtime", "compute", "secrets", "observability", "cost"]
FAMILIES: tuple[Family, ...] = ("iam", "storage", "network", "runtime", "compute", "secrets", "observability", "cost")
Unknowns = Literal["skip", "fail-closed"]
ANY_TYPE = "*"


class RuleError(RuntimeError):
    """A rule crashed on a resource (a bug in the rule or a shape it does not expect)."""


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str


@dataclass(frozen=True)
class Resource:
    """What a check sees of one resource (props are the SDK's unknown-checking proxies)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    parent: Resource | None = None
    dependencies: tuple[Resource, ...] = ()
    property_dependencies: Mapping[str, tuple[Resource, ...]] = field(default_factory=dict)
    # The resource's ignoreChanges option (resource rules only): what the program declares but never updates.
    ignore_changes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type.rsplit(':', 1)[-1]})"


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[Finding]]
StackCheck = Callable[[list[Resource], Mapping[str, Any]], Iterable[tuple[Resource | None, Finding]]]


@dataclass
class Rule:
    """A rule's metadata plus the pulumi-policy object the analyzer runs."""

    name: str
    family: Family
    description: str
    severity: Severity
    remediation: str
    types: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]]
    unknowns: Unknowns
    anchor: str
    stack: bool
    policy: ResourceValidationPolicy | StackValidationPolicy
    applies_to: str = ""

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.params.items() if "default" in schema}


RULES: list[Rule] = []


def config_with_defaults(params: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI fills schema defaults; the SDK does not: mirror them here."""
    merged = {key: schema["default"] for key, schema in params.items() if "default" in schema}
    merged.update(given)
    return merged


def _schema(params: Mapping[str, Mapping[str, Any]]) -> PolicyConfigSchema | None:
    if not params:
        return None
    return PolicyConfigSchema(properties={key: dict(value) for key, value in params.items()})


def _unknown_finding(error: UnknownValueError) -> Finding:
    return Finding(
        f"cannot verify at preview: {error.message}",
        "set this property from a literal or a config value, not another resource's output, so it is known before apply",
    )


def _message(label: str, finding: Finding) -> str:
    return f"{label}: {finding.problem}. Fix: {finding.fix}."


def _matches(types: tuple[str, ...], resource_type: str) -> bool:
    return ANY_TYPE in types or resource_type in types


def resource_rule(
    name: str,
    *,
    family: Family,
    description: str,
    severity: Severity,
    remediation: str,
    types: Iterable[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    unknowns: Unknowns = "skip",
    anchor: str = "",
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    applies_to: str = "",
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Declare a ResourceValidationPolicy from a check over one resource's inputs."""
    type_tuple = tuple(types)
    schema_params = dict(params or {})

    def register(check: ResourceCheck) -> ResourceCheck:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if not _matches(type_tuple, args.resource_type):
                return
            options = getattr(args, "opts", None)
            ignored = tuple(getattr(options, "ignore_changes", None) or ())
            resource = Resource(args.resource_type, args.name, args.urn, args.props, ignore_changes=ignored)
            config = config_with_defaults(schema_params, args.get_config())
            try:
                findings = list(check(resource, config))
            except UnknownValueError as error:
                if unknowns == "skip":
                    raise
                findings = [_unknown_finding(error)]
            except Exception as error:  # a rule bug must name itself, not surface as a bare gRPC error
                raise RuleError(f"rule {name} failed on {resource.label}: {type(error).__name__}: {error}") from error
            for finding in findings:
                report(_message(resource.label, finding), None)

        policy = ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=enforcement,
            config_schema=_schema(schema_params),
            severity=severity,
            remediation_steps=remediation,
            tags=[family],
        )
        RULES.append(
            Rule(name, family, description, severity, remediation, type_tuple, schema_params, unknowns, anchor, False, policy, applies_to)
        )
        return check

    return register


def stack_rule(
    name: str,
    *,
    family: Family,
    description: str,
    severity: Severity,
    remediation: str,
    types: Iterable[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    unknowns: Unknowns = "skip",
    anchor: str = "",
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    applies_to: str = "",
) -> Callable[[StackCheck], StackCheck]:
    """Declare a StackValidationPolicy from a check over every resource's outputs."""
    type_tuple = tuple(types)
    schema_params = dict(params or {})

    def register(check: StackCheck) -> StackCheck:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            by_urn: dict[str, Resource] = {}
            for item in args.resources:
                by_urn[item.urn] = Resource(item.resource_type, item.name, item.urn, item.props)
            resources: list[Resource] = []
            for item in args.resources:
                base = by_urn[item.urn]
                resource = Resource(
                    base.type,
                    base.name,
                    base.urn,
                    base.props,
                    parent=by_urn.get(item.parent.urn) if item.parent is not None else None,
                    dependencies=tuple(by_urn[d.urn] for d in item.dependencies if d.urn in by_urn),
                    property_dependencies={
                        key: tuple(by_urn[d.urn] for d in deps if d.urn in by_urn)
                        for key, deps in item.property_dependencies.items()
                    },
                )
                by_urn[item.urn] = resource
                resources.append(resource)
            config = config_with_defaults(schema_params, args.get_config())
            try:
                findings: list[tuple[Resource | None, Finding]] = list(check(resources, config))
            except UnknownValueError as error:
                if unknowns == "skip":
                    raise
                findings = [(None, _unknown_finding(error))]
            except Exception as error:
                raise RuleError(f"rule {name} failed on the stack: {type(error).__name__}: {error}") from error
            for subject, finding in findings:
                if subject is None:
                    report(_message("stack", finding), None)
                else:
                    report(_message(subject.label, finding), subject.urn)

        policy = StackValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=enforcement,
            config_schema=_schema(schema_params),
            severity=severity,
            remediation_steps=remediation,
            tags=[family],
        )
        RULES.append(
            Rule(name, family, description, severity, remediation, type_tuple, schema_params, unknowns, anchor, True, policy, applies_to)
        )
        return check

    return register
