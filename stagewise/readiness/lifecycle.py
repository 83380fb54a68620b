"""Deploys, not programs: a first `pulumi up` into an empty project, then a second one.

First deploy: the engine creates resources in dependency order and in parallel where nothing
orders them (https://www.pulumi.com/docs/iac/concepts/how-pulumi-works/), so a resource that
names another one without depending on it can be created before it exists. Second deploy: the
program runs again after a new image build and a changed environment value; each resource's
inputs are diffed against the first deploy's, as the engine diffs, with ``ignoreChanges`` applied
and the provider's immutable fields turning updates into replacements.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stagewise.engine.record import ProgramRun
from stagewise.readiness.diff import effective_changes
from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, BROKEN, Finding, Severity

CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_JOB = "gcp:cloudrunv2/job:Job"
DOCKER_IMAGES = ("docker:index/image:Image", "docker-build:index:Image")

# Lifecycle rules: (id, severity, title, source). Listed with the catalogue.
LIFECYCLE_RULES: dict[str, tuple[Severity, str, str]] = {
    "deploy-reference-before-create": (
        BLOCKS, "a resource names another one it does not depend on, so the engine may create it first",
        "https://www.pulumi.com/docs/iac/concepts/options/dependson/",
    ),
    "deploy-traffic-revision-missing": (
        BLOCKS, "traffic is routed to a Cloud Run revision that does not exist at that deploy",
        "https://cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration",
    ),
    "deploy-revision-name-reused": (
        BLOCKS, "a changed template keeps its fixed revision name: Cloud Run answers 409",
        "https://github.com/hashicorp/terraform-provider-google/issues/14569",
    ),
    "deploy-image-not-rolled-out": (
        BROKEN, "a new image is built or pushed but the service's image input does not change",
        "https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/",
    ),
    "deploy-replace-name-conflict": (
        BLOCKS, "a replacement creates the new resource under the old one's name before deleting it: 409",
        "https://www.pulumi.com/docs/iac/concepts/options/deletebeforereplace/",
    ),
    "deploy-stateful-replaced": (
        BLOCKS, "a resource that holds data would be replaced or deleted by a routine deploy",
        "https://www.pulumi.com/docs/iac/concepts/options/protect/",
    ),
    "deploy-rename-conflict": (
        BLOCKS, "a renamed logical resource is created again under the same cloud name before the old one is deleted",
        "https://www.pulumi.com/docs/iac/concepts/options/aliases/",
    ),
}

# Types whose replacement or deletion loses data.
STATEFUL_TYPES = frozenset({
    "gcp:firestore/database:Database",
    "gcp:storage/bucket:Bucket",
    "gcp:secretmanager/secret:Secret",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/keyRing:KeyRing",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:bigquery/dataset:Dataset",
    "gcp:artifactregistry/repository:Repository",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig",
    "gcp:redis/instance:Instance",
    "gcp:memorystore/instance:Instance",
})

# The input that holds each type's cloud-side name (what must be unique in the project/location).
NAME_FIELD: dict[str, str] = {
    "gcp:secretmanager/secret:Secret": "secretId",
    "gcp:serviceaccount/account:Account": "accountId",
    "gcp:artifactregistry/repository:Repository": "repositoryId",
    "gcp:projects/iAMCustomRole:IAMCustomRole": "roleId",
    "gcp:kms/keyRing:KeyRing": "name",
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": "workloadIdentityPoolId",
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": "workloadIdentityPoolProviderId",
    "gcp:bigquery/dataset:Dataset": "datasetId",
}
# Types that are bindings or settings, not named objects: recreating them under a new name is harmless.
UNNAMED_PREFIXES = ("gcp:projects/service:Service", "gcp:firestore/field:Field")
_IAM_TYPE = re.compile(r"I[Aa][Mm](Member|Binding|Policy)$")
DIGEST = re.compile(r"@sha256:([0-9a-f]{64})")
IMAGE_BY_DIGEST = re.compile(r"([a-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9._/-]+)@sha256:[0-9a-f]{64}")


@dataclass
class Phase:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, rule: str, phase: str, resource: Resource | None, field_: str, message: str, fix: str) -> None:
        severity, _title, source = LIFECYCLE_RULES[rule]
        self.findings.append(Finding(
            rule=rule, severity=severity, phase=phase, resource=resource.name if resource else "",
            type=resource.type if resource else "", urn=resource.urn if resource else "",
            field=field_, message=message, fix=fix, source=source,
        ))


def cloud_name(resource: Resource) -> str | None:
    """The name this resource takes in the cloud, when the program gives it one."""
    if resource.type.startswith(UNNAMED_PREFIXES) or _IAM_TYPE.search(resource.type.rsplit(":", 1)[-1]):
        return None
    value = resource.get(NAME_FIELD.get(resource.type, "name"))
    if not isinstance(value, str) or not value or value == UNKNOWN:
        return None
    where = resource.get("location") or resource.get("region") or ""
    return f"{resource.type}|{where}|{value}"


# --- what other resources a value can name ------------------------------------------------------
# Outputs by which other resources name a resource, per type (the provider's own formats).
_OUTPUT_IDENTITIES: dict[str, tuple[str, ...]] = {
    "gcp:serviceaccount/account:Account": ("email", "member", "name"),
    "gcp:cloudrunv2/service:Service": ("uri",),
    "gcp:storage/bucket:Bucket": ("url", "selfLink"),
    "gcp:artifactregistry/repository:Repository": ("registryUri", "name"),
    "gcp:secretmanager/secret:Secret": ("name",),
    "gcp:logging/projectSink:ProjectSink": ("writerIdentity",),
}


def identities(resource: Resource, project: str) -> set[str]:
    """Strings by which other resources refer to this one (as the provider reports or forms them)."""
    found: set[str] = set()
    keys = _OUTPUT_IDENTITIES.get(resource.type, ())
    if resource.type.startswith("gcp:compute/"):
        keys = ("selfLink", "id")
    for key in keys:
        value = resource.out(key)
        if isinstance(value, str) and value and value != UNKNOWN and not value.endswith("-id"):
            found.add(value)
    if resource.type == "gcp:serviceaccount/account:Account":
        email = resource.out("email")
        if isinstance(email, str):
            found |= {email, f"serviceAccount:{email}", f"projects/{project}/serviceAccounts/{email}"}
    elif resource.type == "gcp:secretmanager/secret:Secret":
        secret_id = resource.get("secretId")
        if isinstance(secret_id, str):
            found |= {secret_id, f"projects/{project}/secrets/{secret_id}"}
    elif resource.type == "gcp:storage/bucket:Bucket":
        name = resource.get("name")
        if isinstance(name, str):
            found |= {name, f"gs://{name}"}
    elif resource.type in (CLOUD_RUN_SERVICE, CLOUD_RUN_JOB):
        name = resource.get("name")
        location = resource.get("location")
        kind = "services" if resource.type == CLOUD_RUN_SERVICE else "jobs"
        if isinstance(name, str) and isinstance(location, str):
            found |= {f"projects/{project}/locations/{location}/{kind}/{name}", name}
    elif resource.type == "gcp:artifactregistry/repository:Repository":
        repo = resource.get("repositoryId")
        if isinstance(repo, str):
            found.add(repo)
    return {value for value in found if len(value) >= 3}


def _location(resource: Resource) -> str | None:
    for key in ("location", "region"):
        value = resource.get(key)
        if isinstance(value, str) and value and value != UNKNOWN:
            return value
    return None


_SKIP_KEYS = frozenset({"labels", "description", "displayName", "title", "annotations", "userLabels", "project"})


def _references(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _SKIP_KEYS:
                yield from _references(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}[{index}]")


def check_first_deploy(inventory: Inventory) -> Phase:
    """What is missing, or not yet there, when each resource is created in an empty project."""
    phase = Phase()
    owners: dict[str, list[Resource]] = {}
    for resource in inventory.resources:
        for identity in identities(resource, inventory.project_of(resource)):
            owners.setdefault(identity, []).append(resource)
    for resource in inventory.resources:
        reported: set[str] = set()
        for path, value in _references(resource.inputs):
            candidates = [
                o for o in owners.get(value, ())
                # A resource's own name is not a reference to a namesake of its type (a service per region).
                if o.urn != resource.urn and not (o.type == resource.type and path == NAME_FIELD.get(resource.type, "name"))
            ]
            if len(candidates) > 1:
                # One name in several places (e.g. a service per region): the one in the same location, if any.
                where = _location(resource)
                candidates = [o for o in candidates if where is not None and _location(o) == where]
            if len(candidates) != 1:
                continue
            owner = candidates[0]
            if owner.urn in reported:
                continue
            if inventory.waits_for(resource, owner):
                continue
            reported.add(owner.urn)
            phase.add(
                "deploy-reference-before-create", "first-deploy", resource, path,
                f"{resource.name} names {owner.name} ({_short(owner.type)}) in {path} as a plain value, with no dependency on it: "
                "on a first deploy the engine may create it before that resource exists",
                f"pass {owner.name}'s output instead of the literal, or add depends_on=[{owner.name}]",
            )
    _check_traffic(phase, "first-deploy", inventory.of_type(CLOUD_RUN_SERVICE), existing={})
    return phase


def _revision_of(service: Resource) -> str | None:
    value = service.get("template.revision")
    return value if isinstance(value, str) and value and value != UNKNOWN else None


def _check_traffic(phase: Phase, label: str, services: Iterable[Resource], existing: Mapping[str, set[str]]) -> None:
    for service in services:
        own = _revision_of(service)
        known = set(existing.get(service.urn, set())) | ({own} if own else set())
        for index, target in enumerate(as_list(service.get("traffics"))):
            if not isinstance(target, dict) or target.get("type") != "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION":
                continue
            revision = target.get("revision")
            if not isinstance(revision, str) or is_unknown(revision) or revision in known:
                continue
            where = "an empty project" if label == "first-deploy" else "the project after the first deploy"
            phase.add(
                "deploy-traffic-revision-missing", label, service, f"traffics[{index}].revision",
                f"{service.name} routes {target.get('percent', 0):g}% to revision {revision!r}, which does not exist in {where}",
                "route to the latest revision (type LATEST) and reach earlier versions by tag; name a revision only once a deploy has created it",
            )


# --- the second deploy ----------------------------------------------------------------------
def second_deploy_overrides(config: Mapping[str, str]) -> dict[str, str]:
    """Config for the second deploy: every image digest in the config moves to a new one (CI pushed a
    new build), and the chat service gets one more environment value (a routine config change)."""
    overrides: dict[str, str] = {}
    for key, value in config.items():
        moved = DIGEST.sub(lambda m: "@sha256:" + hashlib.sha256(f"{m.group(1)}#2".encode()).hexdigest(), value)
        if moved != value:
            overrides[key] = moved
    raw = overrides.get("stagewise:service", config.get("stagewise:service"))
    if raw:
        try:
            service = json.loads(raw)
        except ValueError:
            service = None
        if isinstance(service, dict):
            env = dict(service.get("env") or {})
            env["STAGEWISE_DEPLOY_MARK"] = "second-deploy"
            service["env"] = env
            overrides["stagewise:service"] = json.dumps(service)
    return overrides


def _images(resource: Resource) -> list[str]:
    base = "template.template.containers" if resource.type == CLOUD_RUN_JOB else "template.containers"
    containers = as_list(resource.get(base))
    return [str(c["image"]) for c in containers if isinstance(c, dict) and isinstance(c.get("image"), str)]


def _repository_path(image: str) -> str:
    return image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] or "@" in image else image


def _new_content(first: Inventory, second: Inventory, overrides: Mapping[str, str], config: Mapping[str, str]) -> set[str]:
    """Image repositories that hold new content at the second deploy."""
    paths: set[str] = set()
    before = {r.urn: r for r in first.of_type(*DOCKER_IMAGES)}
    for image in second.of_type(*DOCKER_IMAGES):
        old = before.get(image.urn)
        digest = image.out("repoDigest") or image.out("digest")
        if old is not None and digest != (old.out("repoDigest") or old.out("digest")):
            name = image.get("imageName") or image.out("imageName") or ""
            if isinstance(name, str) and name:
                paths.add(_repository_path(name))
    for key in overrides:
        paths.update(IMAGE_BY_DIGEST.findall(config.get(key, "")))
    return paths


def check_second_deploy(first_run: ProgramRun, second_run: ProgramRun, overrides: Mapping[str, str]) -> Phase:
    phase = Phase()
    first, second = Inventory.of(first_run), Inventory.of(second_run)
    old = {r.urn: r for r in first.resources}
    new = {r.urn: r for r in second.resources}
    # An alias tells the engine that a resource had another URN before: it is the same resource.
    previous = {urn: next((old[a] for a in (urn, *r.declared.aliases) if a in old), None) for urn, r in new.items()}
    carried = {r.urn for r in previous.values() if r is not None}
    fresh = _new_content(first, second, overrides, first_run.config)
    replaced: set[str] = set()

    for urn, after in new.items():
        before = previous[urn]
        if before is None:
            continue
        ignore = after.declared.ignore_changes
        changes = effective_changes(before.inputs, after.inputs, ignore)
        forcing = _forcing(after.type, before.inputs, after.inputs, changes)
        if forcing:
            replaced.add(urn)
            _replacement(phase, before, after, forcing)
        if after.type in (CLOUD_RUN_SERVICE, CLOUD_RUN_JOB):
            _rollout(phase, before, after, changes, fresh)
            if after.type == CLOUD_RUN_SERVICE:
                revision = _revision_of(after)
                template_changed = [p for p in changes if p.startswith("template.") or p == "template"]
                if revision and revision == _revision_of(before) and template_changed:
                    phase.add(
                        "deploy-revision-name-reused", "second-deploy", after, "template.revision",
                        f"{after.name}'s template changes ({template_changed[0]}) but its revision keeps the name {revision!r}: "
                        "Cloud Run refuses a second revision of that name (409)",
                        "leave template.revision unset (Cloud Run names each revision) and carry versions in traffic tags",
                    )
    existing = {
        urn: ({name} if (name := _revision_of(before)) else set()) for urn, before in previous.items() if before is not None
    }
    _check_traffic(phase, "second-deploy", second.of_type(CLOUD_RUN_SERVICE), existing)

    gone = [r for urn, r in old.items() if urn not in carried]
    added = [r for urn, r in new.items() if previous[urn] is None]
    for resource in gone:
        if resource.type in STATEFUL_TYPES:
            phase.add(
                "deploy-stateful-replaced", "second-deploy", resource, "",
                f"{resource.name} ({_short(resource.type)}) is no longer declared after the change, so the deploy deletes it and what it holds",
                "keep declaring it (with an alias if it moved), or set retain_on_delete / protect on it",
            )
    names_gone = {cloud_name(r): r for r in gone if cloud_name(r)}
    for resource in added:
        name = cloud_name(resource)
        if name and name in names_gone:
            namesake = names_gone[name]
            phase.add(
                "deploy-rename-conflict", "second-deploy", resource, NAME_FIELD.get(resource.type, "name"),
                f"{resource.name} takes the cloud name of {namesake.name}, which the same deploy deletes only afterwards: "
                "creation fails with 'already exists'",
                f"add opts=ResourceOptions(aliases=[Alias(name={namesake.name!r})]) so the engine sees a rename, not a new resource",
            )
    if not fresh:
        phase.notes.append("no image changed content between the deploys (no build and no digest in the config)")
    return phase


def _forcing(type_token: str, before: dict[str, Any], after: dict[str, Any], changes: list[str]) -> list[str]:
    """The changed paths that make the provider replace the resource (its immutable inputs). A
    changed block or list (added, removed, resized) replaces it when an immutable input inside it
    takes another value."""
    from stagewise.readiness.provider_facts import force_new_within, forces_replacement

    found: list[str] = []
    for path in changes:
        if forces_replacement(type_token, path):
            found.append(path)
            continue
        for inner in sorted(force_new_within(type_token, path)):
            if _values_at(before, inner) != _values_at(after, inner):
                found.append(inner)
                break
    return found


def _values_at(value: Any, pattern: str) -> list[Any]:
    """Every value at a provider path (``a.b[].c``: ``[]`` spans every item), absent ones as None."""
    current: list[Any] = [value]
    for part in pattern.split("."):
        name, many = (part[:-2], True) if part.endswith("[]") else (part, False)
        step: list[Any] = []
        for item in current:
            inner = item.get(name) if isinstance(item, dict) else None
            if many:
                step += inner if isinstance(inner, list) else [inner] if isinstance(inner, dict) else [None]
            else:
                step.append(inner)
        current = step
    return current


def _replacement(phase: Phase, before: Resource, after: Resource, forcing: list[str]) -> None:
    what = ", ".join(forcing[:3]) + (" …" if len(forcing) > 3 else "")
    if after.type in STATEFUL_TYPES:
        phase.add(
            "deploy-stateful-replaced", "second-deploy", after, forcing[0],
            f"changing {what} replaces {after.name} ({_short(after.type)}): the new one starts empty",
            "keep the immutable field as it was, or migrate the data to a new resource deliberately",
        )
        return
    name = cloud_name(after)
    if name is not None and name == cloud_name(before) and not after.declared.delete_before_replace:
        phase.add(
            "deploy-replace-name-conflict", "second-deploy", after, forcing[0],
            f"changing {what} replaces {after.name}, and the replacement is created under the same name before the old one is deleted",
            "set delete_before_replace=True on it, or let the name change with the replacement",
        )


def _rollout(phase: Phase, before: Resource, after: Resource, changes: list[str], fresh: set[str]) -> None:
    old_images, new_images = _images(before), _images(after)
    image_paths = [p for p in changes if p.endswith(".image")]
    if old_images != new_images and not image_paths:
        hidden = ", ".join(after.declared.ignore_changes) or "ignoreChanges"
        phase.add(
            "deploy-image-not-rolled-out", "second-deploy", after, "template.containers[0].image",
            f"{after.name} is given a new image, but {hidden} keeps the deployed one: no new revision rolls out",
            "drop the image path from ignore_changes (or set ignoreChanges: false for images CI passes in)",
        )
        return
    if old_images == new_images:
        stale = [image for image in new_images if _repository_path(image) in fresh]
        if stale:
            phase.add(
                "deploy-image-not-rolled-out", "second-deploy", after, "template.containers[0].image",
                f"{after.name} references {stale[0]!r}, which does not change when new content is pushed there: "
                "Cloud Run keeps serving the old image",
                "reference the image by digest (the build's repo digest), so every new build changes the template",
            )


def _short(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


__all__ = [
    "LIFECYCLE_RULES", "Phase", "check_first_deploy", "check_second_deploy", "cloud_name", "second_deploy_overrides",
]
