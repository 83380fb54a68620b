"""Role grants a caller hands to a component, declared at the narrowest level GCP allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import pulumi
import pulumi_gcp as gcp

BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@dataclass(frozen=True)
class ProjectRole:
    """A project-level role, for services with no resource-level IAM (e.g. Vertex AI, Logging)."""

    role: str
    condition_title: str | None = None
    condition_expression: str | None = None


@dataclass(frozen=True)
class BucketRole:
    bucket: pulumi.Input[str]
    role: str
    # Names the grant when the bucket name is only known at deploy time (e.g. the BucketSet key).
    key: str | None = None


@dataclass(frozen=True)
class SecretRole:
    secret_id: pulumi.Input[str]
    role: str = "roles/secretmanager.secretAccessor"


Grant = Union[ProjectRole, BucketRole, SecretRole]


def check_role(role: str) -> str:
    if role in BASIC_ROLES:
        raise ValueError(f"{role} is a basic role; grant a predefined role such as roles/run.invoker instead")
    if not role.startswith(("roles/", "projects/", "organizations/")):
        raise ValueError(f"{role!r} is not a role name; write it like roles/datastore.user")
    return role


def declare_grants(
    prefix: str,
    member: pulumi.Input[str],
    grants: list[Grant],
    project: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
) -> list[pulumi.CustomResource]:
    """One IAM member resource per grant, children of ``parent``."""
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])
    declared: list[pulumi.CustomResource] = []
    taken: set[str] = set()
    for grant in grants:
        role = check_role(grant.role)
        name = _unique(f"{prefix}-{_grant_slug(grant, role)}", taken)
        if isinstance(grant, ProjectRole):
            condition = None
            if grant.condition_expression:
                condition = gcp.projects.IAMMemberConditionArgs(
                    title=grant.condition_title or role.rsplit("/", 1)[-1].replace(".", "-"), expression=grant.condition_expression
                )
            declared.append(
                gcp.projects.IAMMember(name, project=project, role=role, member=member, condition=condition, opts=opts)
            )
        elif isinstance(grant, BucketRole):
            declared.append(gcp.storage.BucketIAMMember(name, bucket=grant.bucket, role=role, member=member, opts=opts))
        else:
            declared.append(
                gcp.secretmanager.SecretIamMember(
                    name, secret_id=grant.secret_id, project=project, role=role, member=member, opts=opts
                )
            )
    return declared


def _grant_slug(grant: Grant, role: str) -> str:
    """A logical name from what the grant is (role and target), not its position in the list:
    adding a grant must not rename — and so replace — the others."""
    slug = role.rsplit("/", 1)[-1].replace(".", "-")
    if isinstance(grant, BucketRole):
        target = grant.key or (grant.bucket if isinstance(grant.bucket, str) else None)
    elif isinstance(grant, SecretRole):
        target = grant.secret_id if isinstance(grant.secret_id, str) else None
    else:
        target = grant.condition_title
    return f"{slug}-{target}" if target else slug


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate, counter = f"{name}-{counter}", counter + 1
    taken.add(candidate)
    return candidate
