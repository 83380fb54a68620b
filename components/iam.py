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
    for index, grant in enumerate(grants):
        role = check_role(grant.role)
        slug = role.rsplit("/", 1)[-1].replace(".", "-")
        name = f"{prefix}-{slug}-{index}"
        if isinstance(grant, ProjectRole):
            condition = None
            if grant.condition_expression:
                condition = gcp.projects.IAMMemberConditionArgs(
                    title=grant.condition_title or slug, expression=grant.condition_expression
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
