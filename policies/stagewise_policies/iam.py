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
    anchor="CKV_GCP_115, CKV_GCP_116, CKV_GCP_117",
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
    anchor="CKV_GCP_41, CKV_GCP_44, CKV_GCP_45, CKV_GCP_49",
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


# What GCP runs a workload as when the program names no account (the provider's defaults):
# - Cloud Run: "If not provided, the revision will use the project's default service account"
#   (https://cloud.google.com/run/docs/reference/rest/v1/RevisionSpec; v2 RevisionTemplate likewise,
#   https://cloud.google.com/python/docs/reference/run/0.6.0/google.cloud.run_v2.types.RevisionTemplate);
# - VMs and templates whose service_account block has no email: "If not specified, the default Compute
#   Engine service account for the project will be used"
#   (https://cloud.google.com/python/docs/reference/batch/0.8.0/google.cloud.batch_v1.types.ServiceAccount,
#   the same field of the Compute API). A VM with no service_account block at all runs with none.
COMPUTE_DEFAULT = "the Compute Engine default service account (the provider's default)"


def default_identity(resource: Resource) -> str | None:
    """The identity a workload runs as: its email, COMPUTE_DEFAULT when GCP picks the default, None when none applies."""
    props = resource.props
    if resource.type in (t.RUN_SERVICE, t.RUN_JOB, t.RUN_V1_SERVICE):
        path = {t.RUN_SERVICE: "template.serviceAccount", t.RUN_JOB: "template.template.serviceAccount",
                t.RUN_V1_SERVICE: "template.spec.serviceAccountName"}[resource.type]
        return text(props, path) or COMPUTE_DEFAULT
    if resource.type in t.VMS:
        block = get(props, "serviceAccount")
        if block is None:
            return None  # no service account (an InstanceFromTemplate: the template's, checked there)
        return text(block, "email") or COMPUTE_DEFAULT
    return None


def _default_sa_mentions(resource: Resource) -> Iterator[str]:
    if t.is_iam(resource.type):
        for grant in grants(resource):
            yield grant.member.split(":", 1)[-1]
        return
    identity = default_identity(resource)
    if identity:
        yield identity


@resource_rule(
    "iam-no-default-service-accounts",
    family="iam",
    description="The default Compute Engine and App Engine service accounts are never granted roles or used as a workload identity, "
                "including where GCP picks them because the program names no account (Cloud Run without a service account, "
                "a VM service_account block without an email).",
    severity=Severity.HIGH,
    remediation="Create a dedicated service account (gcp.serviceaccount.Account) for the workload and grant it only what it uses.",
    types=[ANY_TYPE],
    applies_to="IAM resources, Cloud Run services (v1 and v2) and jobs, VMs, templates and VMs from templates",
    unknowns="skip",
    anchor="CKV_GCP_30, CKV_GCP_46-48",
)
def no_default_service_accounts(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for email in _default_sa_mentions(resource):
        if email == COMPUTE_DEFAULT:
            yield Finding(f"runs as {COMPUTE_DEFAULT}", "set a dedicated service account's email")
        elif DEFAULT_SA.match(email):
            yield Finding(f"uses the default service account {email}", "use a dedicated service account")


@resource_rule(
    "iam-no-service-account-keys",
    family="iam",
    description="No user-managed service account keys: long-lived credentials that leak.",
    severity=Severity.HIGH,
    remediation="Remove the key; run as the service account (Cloud Run, VMs) or use Workload Identity Federation from CI.",
    types=[t.SERVICE_ACCOUNT_KEY],
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


# CIS GCP 1.1: "Use corporate login credentials instead of consumer accounts, such as Gmail accounts"
# (steampipe-mod-gcp-compliance cis_v300/section_1.sp). Consumer domains are refused even when no
# allowedDomains are configured, so the rule is never off.
CONSUMER_DOMAINS = ["gmail.com", "googlemail.com"]


@resource_rule(
    "iam-allowed-domains",
    family="iam",
    description="user:, group: and domain: members belong to an allowed domain (when allowedDomains is set), and never to a "
                "consumer domain such as gmail.com.",
    severity=Severity.MEDIUM,
    remediation="Grant to identities of your organization's domain, or add the partner's domain to allowedDomains.",
    types=[ANY_TYPE],
    applies_to=IAM_RESOURCES,
    params={"allowedDomains": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "domains members may come from; empty allows any corporate domain"},
            "deniedDomains": {"type": "array", "items": {"type": "string"}, "default": CONSUMER_DOMAINS,
                              "description": "domains members may never come from (consumer accounts)"}},
    unknowns="skip",
)
def allowed_domains(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {domain.lower() for domain in config_list(config, "allowedDomains")}
    denied = {domain.lower() for domain in config_list(config, "deniedDomains")}
    if not t.is_iam(resource.type):
        return
    for grant in grants(resource):
        parsed = _member_domain(grant.member)
        if parsed and (parsed[1] in denied or (allowed and parsed[1] not in allowed)):
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


PEOPLE_PREFIXES = ("user:", "group:", "domain:", "principal:", "principalSet:")
# Roles that administer or own what they are granted on: *Admin / *admin, owner and *Owner roles
# (CIS 1.5 names "*Admin or *admin or Editor or Owner" for service accounts; the same roles given to people
# project-wide hand one compromised account the project).
OWNER_LIKE = re.compile(r"(^roles/owner$|admin|owner$)", re.IGNORECASE)


@resource_rule(
    "iam-people-no-admin-roles",
    family="iam",
    description="People (user:, group:, domain:, federated principals) hold no admin or owner-like roles at project, folder or organization "
                "level; administer single resources instead (e.g. run.admin on a service).",
    severity=Severity.HIGH,
    remediation="Grant the admin role on the resource it administers (service, bucket, secret), or a narrower predefined role project-wide; "
                "list a justified exception in allowedRoles.",
    types=t.HIGH_LEVEL_IAM,
    params={"allowedRoles": {"type": "array", "items": {"type": "string"}, "default": [],
                             "description": "admin or owner-like roles people may still hold project-wide"}},
    unknowns="skip",
)
def people_no_admin_roles(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = set(config_list(config, "allowedRoles"))
    for grant in grants(resource):
        if not OWNER_LIKE.search(grant.role) or grant.role in allowed:
            continue
        if grant.member.startswith(PEOPLE_PREFIXES):
            kind = grant.member.split(":", 1)[0]
            yield Finding(f"{grant.role} at {t.short(resource.type)} level is granted to a {kind}",
                          "grant it on the single resource to administer, or a narrower role")


# Permissions that let their holder act as other principals or extend its own access, so a custom role
# holding them is as strong as what it can reach: impersonation and key creation, IAM policy changes,
# role changes (SonarSource RSPEC-6408, "GCP IAM custom roles should not include permissions that allow
# privilege escalation": https://scanner.sonarcloud.io/plugins/iac/versions/5d00549e2af5d3915a0703d4186a3681.jar:org/sonar/l10n/terraform/rules/terraform/S6408.html;
# getAccessToken: https://catalog.p0.dev/services/gcp/iam.serviceAccounts.getAccessToken).
ESCALATION_PERMISSIONS = [
    "*.setIamPolicy",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccountKeys.create",
    "iam.roles.create",
    "iam.roles.update",
    "deploymentmanager.deployments.create",
    "orgpolicy.policy.set",
    "resourcemanager.projects.delete",
]


@resource_rule(
    "iam-custom-role-least-privilege",
    family="iam",
    description="Custom roles hold no permission that escalates privilege (impersonation, key creation, IAM policy or role changes) "
                "and at most maxPermissions permissions.",
    severity=Severity.HIGH,
    remediation="Keep the custom role to the permissions its task needs (see the prod Firestore exporter role), "
                "or allow a permission in allowedPermissions with a reason.",
    types=t.CUSTOM_ROLES,
    params={
        "deniedPermissions": {"type": "array", "items": {"type": "string"}, "default": ESCALATION_PERMISSIONS,
                              "description": "permissions (glob patterns) no custom role may hold"},
        "allowedPermissions": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "denied permissions a stage allows anyway"},
        "maxPermissions": {"type": "integer", "minimum": 1, "default": 40, "description": "most permissions in one custom role"},
    },
    unknowns="fail-closed",
)
def custom_role_least_privilege(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    import fnmatch

    permissions = strings(get(resource.props, "permissions"))
    allowed = set(config_list(config, "allowedPermissions"))
    denied = config_list(config, "deniedPermissions")
    risky = sorted({p for p in permissions if p not in allowed and any(fnmatch.fnmatchcase(p, pattern) for pattern in denied)})
    if risky:
        yield Finding(f"the role holds {', '.join(risky)}, which let its holder gain more access", "remove them from permissions")
    cap = int(float(config["maxPermissions"]))
    if len(set(permissions)) > cap:
        yield Finding(f"the role holds {len(set(permissions))} permissions, over {cap}", "split it or use a predefined role")


GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# A condition that pins a GitHub repository or owner: by name or (better, they cannot be re-registered) id.
GITHUB_PIN = re.compile(r"(assertion|attribute)\.(repository|repository_id|repository_owner|repository_owner_id)\s*==|"
                        r"assertion\.sub\s*==\s*['\"]repo:[^'\"*]+/[^'\"*]+")
TRIVIAL_CONDITION = re.compile(r"^\s*(true|1\s*==\s*1|'[^']*'\s*==\s*'[^']*')\s*$", re.IGNORECASE)


@resource_rule(
    "iam-wif-attribute-condition",
    family="iam",
    description="Workload Identity Federation providers restrict which external tokens they accept (an attribute condition); "
                "a GitHub provider pins the repository or owner, because GitHub issues every organization's tokens from one issuer.",
    severity=Severity.CRITICAL,
    remediation="Set attribute_condition, e.g. \"assertion.repository_id == '<id>' && assertion.repository_owner_id == '<owner id>'\" "
                "(bootstrap/blocks.py attribute_condition).",
    types=[t.WIF_PROVIDER],
    unknowns="fail-closed",
    anchor="CKV_GCP_118, CKV_GCP_125",
)
def wif_attribute_condition(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    # GitHub "use a single issuer URL across all organizations ... you must use an attribute condition that
    # restricts access to tokens issued by your GitHub organization" (https://github.com/Cyclenerd/terraform-google-wif-github);
    # without one "any GitHub Action can assume this role" (Checkov CKV_GCP_118).
    condition = text(resource.props, "attributeCondition")
    if not condition.strip() or TRIVIAL_CONDITION.match(condition):
        yield Finding("the provider accepts every token its issuer signs (no attribute condition)",
                      "set attribute_condition to the repository or organization you trust")
        return
    if text(resource.props, "oidc.issuerUri").rstrip("/") == GITHUB_ISSUER and not GITHUB_PIN.search(condition):
        yield Finding("the GitHub provider's condition pins no repository or owner, so any GitHub repository's workflow can sign in",
                      "compare assertion.repository_id / repository_owner_id (or repository) in attribute_condition")
