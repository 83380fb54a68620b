"""The resources of one program run, as the acceptance rules read them.

Values are plain data with camelCase engine names, numbers as floats (as the engine sends them),
secrets unwrapped (rules compare values; nothing here is ever printed) and unknowns kept as
:data:`UNKNOWN` so a rule can tell "not known yet" from "absent".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from stagewise.engine.record import DeclaredResource, ProgramRun
from stagewise.engine.wire import SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_VALUE

UNKNOWN = UNKNOWN_VALUE
_MISSING = object()
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return _unwrap(value.get("value"))
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def is_unknown(value: Any) -> bool:
    """True when the value (or anything inside it) is not known until deploy time."""
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    return False


def dig(value: Any, path: str, default: Any = None) -> Any:
    """``dig(inputs, "template.containers[0].image")``; ``default`` where any step is absent."""
    current = value
    for name, index in _PATH_PART.findall(path):
        if name:
            if not isinstance(current, Mapping) or name not in current:
                return default
            current = current[name]
        else:
            if not isinstance(current, list) or int(index) >= len(current):
                return default
            current = current[int(index)]
    return current


def as_list(value: Any) -> list[Any]:
    """A list property (absent or a single object: as a list of it)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass
class Resource:
    """One declared custom resource, as rules see it."""

    declared: DeclaredResource
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def type(self) -> str:
        return self.declared.type

    @property
    def name(self) -> str:
        return self.declared.name

    @property
    def urn(self) -> str:
        return self.declared.urn

    def get(self, path: str, default: Any = None) -> Any:
        return dig(self.inputs, path, default)

    def out(self, path: str, default: Any = None) -> Any:
        return dig(self.outputs, path, default)

    def known(self, path: str) -> bool:
        value = dig(self.inputs, path, _MISSING)
        return value is not _MISSING and not is_unknown(value)


@dataclass(frozen=True)
class Grant:
    """One IAM grant the program declares, on whatever it is granted on."""

    scope: str  # "project", "bucket", "secret", "service-account", "run-service", "repository", ...
    target: str  # the project id, bucket name, secret id, account email/name, service name ("" if unknown)
    role: str
    member: str
    resource: Resource


# Which input names the target of each IAM member type, and its scope.
IAM_MEMBER_TYPES: dict[str, tuple[str, str]] = {
    "gcp:projects/iAMMember:IAMMember": ("project", "project"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "bucket"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secret", "secretId"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("service-account", "serviceAccountId"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("run-service", "name"),
    "gcp:cloudrunv2/jobIamMember:JobIamMember": ("run-job", "name"),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": ("repository", "repository"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ("crypto-key", "cryptoKeyId"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("topic", "topic"),
    "gcp:bigquery/datasetIamMember:DatasetIamMember": ("dataset", "datasetId"),
}
# Binding types grant one role to a list of members.
IAM_BINDING_TYPES: dict[str, tuple[str, str]] = {
    "gcp:projects/iAMBinding:IAMBinding": ("project", "project"),
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": ("bucket", "bucket"),
    "gcp:secretmanager/secretIamBinding:SecretIamBinding": ("secret", "secretId"),
    "gcp:serviceaccount/iAMBinding:IAMBinding": ("service-account", "serviceAccountId"),
    "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding": ("run-service", "name"),
    "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding": ("repository", "repository"),
}


@dataclass
class Inventory:
    """Every custom resource of a run, with the look-ups rules share."""

    run: ProgramRun
    resources: list[Resource] = field(default_factory=list)

    @classmethod
    def of(cls, run: ProgramRun) -> Inventory:
        # The SDK registers resources as their inputs resolve, so the recorded order can differ from
        # run to run; rules see them by URN, so the same program always gets the same findings.
        items = [Resource(r, _unwrap(r.inputs), _unwrap(r.outputs)) for r in sorted(run.resources, key=lambda r: r.urn) if r.custom]
        return cls(run, items)

    @property
    def project(self) -> str:
        return self.run.config.get("gcp:project", "")

    @property
    def region(self) -> str:
        return self.run.config.get("gcp:region", "")

    def project_of(self, resource: Resource) -> str:
        value = resource.get("project")
        return value if isinstance(value, str) and value and value != UNKNOWN else self.project

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    @cached_property
    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    @cached_property
    def _component_children(self) -> dict[str, list[str]]:
        """Component URN → custom descendants (what depending on a component waits for)."""
        kids: dict[str, list[str]] = {}
        for declared in self.run.resources:
            if declared.parent:
                kids.setdefault(declared.parent, []).append(declared.urn)
        return kids

    def _expand(self, urn: str) -> Iterator[str]:
        if urn in self.by_urn:
            yield urn
            return
        for child in self._component_children.get(urn, ()):
            yield from self._expand(child)

    @cached_property
    def _declared(self) -> dict[str, DeclaredResource]:
        return {r.urn: r for r in self.run.resources}

    @cached_property
    def direct_dependencies(self) -> dict[str, frozenset[str]]:
        """What must be created before each resource: its dependencies (a component expanded to the
        custom resources under it), and everything its ancestors wait for. The SDK sends a child's
        registration only once its parent's URN is known, and a parent is registered only after its
        own dependencies are created (pulumi/pulumi#2299, #7732), so a component's ``depends_on``
        orders every child declared under it."""
        deps: dict[str, frozenset[str]] = {}
        for resource in self.resources:
            found: set[str] = set()
            declared: DeclaredResource | None = resource.declared
            seen: set[str] = set()
            while declared is not None and declared.urn not in seen:
                seen.add(declared.urn)
                for urn in (*declared.dependencies, *(u for urns in declared.property_dependencies.values() for u in urns)):
                    found.update(self._expand(urn))
                if declared is not resource.declared and declared.urn in self.by_urn:
                    found.add(declared.urn)
                declared = self._declared.get(declared.parent) if declared.parent else None
            found.discard(resource.urn)
            deps[resource.urn] = frozenset(found)
        return deps

    @cached_property
    def _closure(self) -> dict[str, frozenset[str]]:
        closure: dict[str, frozenset[str]] = {}

        def visit(urn: str, trail: frozenset[str]) -> frozenset[str]:
            if urn in closure:
                return closure[urn]
            seen: set[str] = set()
            for dep in self.direct_dependencies.get(urn, frozenset()):
                if dep in trail:
                    continue
                seen.add(dep)
                seen.update(visit(dep, trail | {dep}))
            closure[urn] = frozenset(seen)
            return closure[urn]

        for resource in self.resources:
            visit(resource.urn, frozenset({resource.urn}))
        return closure

    def waits_for(self, resource: Resource, other: Resource) -> bool:
        """True when the engine creates ``other`` before ``resource`` (a path of dependencies)."""
        return other.urn in self._closure.get(resource.urn, frozenset())

    @cached_property
    def grants(self) -> list[Grant]:
        found: list[Grant] = []
        for resource in self.resources:
            if resource.type in IAM_MEMBER_TYPES:
                scope, key = IAM_MEMBER_TYPES[resource.type]
                target = resource.get(key)
                if scope == "project" and not target:
                    target = self.project
                found.append(Grant(scope, _text(target), _text(resource.get("role")), _text(resource.get("member")), resource))
            elif resource.type in IAM_BINDING_TYPES:
                scope, key = IAM_BINDING_TYPES[resource.type]
                target = resource.get(key) or (self.project if scope == "project" else "")
                for member in as_list(resource.get("members")):
                    found.append(Grant(scope, _text(target), _text(resource.get("role")), _text(member), resource))
        return found

    @cached_property
    def service_account_emails(self) -> dict[str, Resource]:
        """Email → the ServiceAccount resource that creates it (emails as the provider forms them)."""
        found: dict[str, Resource] = {}
        for account in self.of_type("gcp:serviceaccount/account:Account"):
            account_id = account.get("accountId")
            if isinstance(account_id, str) and account_id != UNKNOWN:
                found[f"{account_id}@{self.project_of(account)}.iam.gserviceaccount.com"] = account
            email = account.out("email")
            if isinstance(email, str) and email != UNKNOWN:
                found.setdefault(email, account)
        return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value != UNKNOWN else ""


def strings_in(value: Any) -> Iterable[str]:
    """Every string anywhere inside a value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
