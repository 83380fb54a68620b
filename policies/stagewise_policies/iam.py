"""IAM: who may do what. Grants come from *IamMember (role, member), *IamBinding (role, members)
and *IamPolicy (policyData JSON) resources of every Google service."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from . import tokens as t
from .base import ANY_TYPE, Finding, Resource, resource_rule
from .props import config_list, get, items, strings, text

PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
IMPERSONATION_ROLES = frozenset({"roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator"})
DEFAULT_SA = re.compile(r"^(\d+-compute@developer\.gserviceaccount\.com|[a-z0-9-]+@appspot\.gserviceaccount\.com)$")
RESOURCE_LEVEL_ROLES = re.compile(r"^roles/(secretmanager\.secretAccessor|storage\.object\w*)$")
ADMIN_ROLE = re.compile(r"(^roles/owner$|admin)", re.IGNORECASE)
IAM_RESOURCES = "every *IamMember, *IamBinding and *IamPolicy resource"


UNKNOWN_MEMBER = "a member not known until apply"


@dataclass(frozen=True)
class Grant:
    """One role granted to one member. The role is read eagerly (rules that fail closed need it);
    the member only when a rule asks, because members usually come from another resource's output
    (a service account's email) and are unknown during preview."""

    role: str
    _member: Callable[[], str]

    @property
    def member(self) -> str:
        return self._member()

    @property
    def member_label(self) -> str:
        try:
            return self._member()
        except UnknownValueError:
            return UNKNOWN_MEMBER


def _member_of(props: Mapping[str, Any]) -> Callable[[], str]:
    return lambda: text(props, "member")


def _binding_member(props: Mapping[str, Any], index: int) -> Callable[[], str]:
    return lambda: strings(get(props, "members"))[index]


def _constant(member: str) -> Callable[[], str]:
    return lambda: member


def grants(resource: Resource) -> Iterator[Grant]:
    """Role/member pairs a resource grants, whatever its IAM resource shape."""
    props = resource.props
    if t.is_iam_member(resource.type):
        yield Grant(text(props, "role"), _member_of(props))
    elif t.is_iam_binding(resource.type):
        role = text(props, "role")
        try:
            count = len(strings(get(props, "members")))
        except UnknownValueError:
            yield Grant(role, lambda: text(props, "members"))  # raises the unknown again when a rule asks
            return
        for index in range(count):
            yield Grant(role, _binding_member(props, index))
    elif t.is_iam_policy(resource.type):
        raw = text(props, "policyData")
        try:
            document = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return
        for binding in items(document.get("bindings") if isinstance(document, dict) else None):
            if isinstance(binding, Mapping):
                for member in strings(binding.get("members")):
                    yield Grant(str(binding.get("role", "")), _constant(member))


def _is_run_invoker(resource: Resource, grant: Grant) -> bool:
    return resource.type in t.RUN_INVOKER_IAM and grant.role == "roles/run.invoker"


@resource_rule(
    "iam-no-public-members",
    family="iam",
    description="No grant to allUsers or allAuthenticatedUsers (the Cloud Run invoker is governed by run-invoker-not-public).",
    severity=Severity.CRITICAL,
    remediation="Grant the role to a group or service account instead; for a public API use run-invoker-not-public's allowPublic in the stage config.",
    types=[ANY_TYPE],
    applies_to=IAM_RESOURCES,
    unknowns="skip",
    anchor="CKV_GCP_28, CKV_GCP_99-102",
)
def no_public_members(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not t.is_iam(resource.type):
        return
    for grant in grants(resource):
        if not _is_run_invoker(resource, grant) and grant.member in PUBLIC_MEMBERS:
            yield Finding(f"{grant.role} is granted to {grant.member}", "grant it to a group or service account")


@resource_rule(
    "iam-no-basic-roles",
    family="iam",
    description="No basic roles (roles/owner, roles/editor, roles/viewer) on any resource.",
    severity=Severity.HIGH,
    remediation="Replace the basic role with the predefined role the member needs (e.g. roles/run.invoker, roles/datastore.user).",
    types=[ANY_TYPE],
    applies_to=IAM_RESOURCES,
    unknowns="fail-closed",
    anchor="CKV_GCP_117",
)
def no_basic_roles(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not t.is_iam(resource.type):
        return
    for grant in grants(resource):
        if grant.role in BASIC_ROLES:
            yield Finding(f"basic role {grant.role} is granted to {grant.member_label}", "grant a predefined role instead")


@resource_rule(
    "iam-no-project-impersonation",
    family="iam",
    description="roles/iam.serviceAccountUser and serviceAccountTokenCreator are never granted at project, folder or organization level.",
    severity=Severity.HIGH,
    remediation="Grant the role on the one service account to impersonate (gcp.serviceaccount.IAMMember).",
    types=t.HIGH_LEVEL_IAM,
    unknowns="fail-closed",
    anchor="CKV_GCP_41, CKV_GCP_49",
)
def no_project_impersonation(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for grant in grants(resource):
        if grant.role in IMPERSONATION_ROLES:
            yield Finding(
                f"{grant.role} at {t.short(resource.type)} level lets {grant.member_label} act as every service account",
                "grant it on the single service account with gcp.serviceaccount.IAMMember",
            )


@resource_rule(
    "iam-sa-no-admin-roles",
    family="iam",
    description="Service accounts hold no admin or owner roles at project, folder or organization level.",
    severity=Severity.HIGH,
    remediation="Give the service account the narrowest predefined role for what it does; list a justified exception in allowedAdminRoles.",
    types=t.HIGH_LEVEL_IAM,
    params={"allowedAdminRoles": {"type": "array", "items": {"type": "string"}, "default": [],
                                  "description": "admin roles a service account may still hold"}},
    unknowns="skip",
    anchor="CKV_GCP_42",
)
def sa_no_admin_roles(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = set(config_list(config, "allowedAdminRoles"))
    for grant in grants(resource):
        if ADMIN_ROLE.search(grant.role) and grant.role not in allowed and grant.member.startswith("serviceAccount:"):
            yield Finding(f"service account {grant.member} holds {grant.role}", "grant a narrower predefined role")


def _default_sa_mentions(resource: Resource) -> Iterator[str]:
    props = resource.props
    if t.is_iam(resource.type):
        for grant in grants(resource):
            yield grant.member.split(":", 1)[-1]
    elif resource.type in (t.RUN_SERVICE, t.RUN_JOB):
        yield text(props, "template.serviceAccount") or text(props, "template.template.serviceAccount")
    elif resource.type in t.VM_LIKE:
        yield text(props, "serviceAccount.email")


@resource_rule(
    "iam-no-default-service-accounts",
    family="iam",
    description="The default Compute Engine and App Engine service accounts are never granted roles or used as a workload identity.",
    severity=Severity.HIGH,
    remediation="Create a dedicated service account (gcp.serviceaccount.Account) for the workload and grant it only what it uses.",
    types=[ANY_TYPE],
    applies_to="IAM resources, Cloud Run services and jobs, VMs and instance templates",
    unknowns="skip",
    anchor="CKV_GCP_30",
)
def no_default_service_accounts(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for email in _default_sa_mentions(resource):
        if DEFAULT_SA.match(email):
            yield Finding(f"uses the default service account {email}", "use a dedicated service account")


@resource_rule(
    "iam-no-service-account-keys",
    family="iam",
    description="No user-managed service account keys: long-lived credentials that leak.",
    severity=Severity.HIGH,
    remediation="Remove the key; run as the service account (Cloud Run, VMs) or use Workload Identity Federation from CI.",
    types=[t.SERVICE_ACCOUNT_KEY],
    anchor="CKV_GCP_44 (intent)",
)
def no_service_account_keys(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    yield Finding("declares a user-managed service account key", "delete it and use attached service accounts or workload identity federation")


def _member_domain(member: str) -> tuple[str, str] | None:
    kind, _, identity = member.partition(":")
    if kind in ("user", "group") and "@" in identity:
        return kind, identity.rsplit("@", 1)[1].lower()
    if kind == "domain":
        return kind, identity.lower()
    return None


@resource_rule(
    "iam-allowed-domains",
    family="iam",
    description="user:, group: and domain: members belong to an allowed domain.",
    severity=Severity.MEDIUM,
    remediation="Grant to identities of your organization's domain, or add the partner's domain to allowedDomains.",
    types=[ANY_TYPE],
    applies_to=IAM_RESOURCES,
    params={"allowedDomains": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "domains members may come from; empty turns the rule off"}},
    unknowns="skip",
    anchor="CKV_GCP_49 (domain restriction)",
)
def allowed_domains(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {domain.lower() for domain in config_list(config, "allowedDomains")}
    if not allowed or not t.is_iam(resource.type):
        return
    for grant in grants(resource):
        parsed = _member_domain(grant.member)
        if parsed and parsed[1] not in allowed:
            yield Finding(f"{grant.role} is granted to a {parsed[0]} from {parsed[1]}", "use an identity of an allowed domain")


@resource_rule(
    "iam-no-user-principals",
    family="iam",
    description="Roles go to groups or service accounts, never to individual user: principals.",
    severity=Severity.MEDIUM,
    remediation="Grant the role to a Google group the person belongs to, so access follows group membership.",
    types=[ANY_TYPE],
    applies_to=IAM_RESOURCES,
    unknowns="skip",
)
def no_user_principals(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not t.is_iam(resource.type):
        return
    for grant in grants(resource):
        if grant.member.startswith("user:"):
            yield Finding(f"{grant.role} is granted to an individual user", "grant it to a group")


@resource_rule(
    "iam-data-roles-resource-level",
    family="iam",
    description="secretmanager.secretAccessor and storage.object* roles are granted on the secret or bucket, not project-wide.",
    severity=Severity.HIGH,
    remediation="Use gcp.secretmanager.SecretIamMember / gcp.storage.BucketIAMMember on the one secret or bucket.",
    types=t.HIGH_LEVEL_IAM,
    unknowns="fail-closed",
)
def data_roles_resource_level(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for grant in grants(resource):
        if RESOURCE_LEVEL_ROLES.match(grant.role):
            yield Finding(
                f"{grant.role} at {t.short(resource.type)} level opens every secret or bucket to {grant.member_label}",
                "grant it on the secret or bucket itself",
            )


@resource_rule(
    "iam-no-authoritative-project-iam",
    family="iam",
    description="No authoritative project/folder/organization IAMPolicy or IAMBinding: they silently remove grants made elsewhere.",
    severity=Severity.HIGH,
    remediation="Use additive IAMMember resources (one per role and member).",
    types=t.HIGH_LEVEL_BINDINGS + t.HIGH_LEVEL_POLICIES,
)
def no_authoritative_project_iam(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    yield Finding(f"{t.short(resource.type)} is authoritative and would strip grants made outside this stack",
                  "replace it with IAMMember resources")
