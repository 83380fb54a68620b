"""IAM: service account ids, principals, role names, where a role may be granted, custom roles, conditions.

Grants are read from :attr:`Inventory.grants`, which normalises every IAM member and binding type
(scope, target, role, member). Unknown members or roles (computed at deploy time) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stagewise.readiness.inventory import IAM_BINDING_TYPES, IAM_MEMBER_TYPES, UNKNOWN, Grant, Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules.storage import offline_ids, text

ACCOUNT = "gcp:serviceaccount/account:Account"
CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
ORG_CUSTOM_ROLE = "gcp:organizations/iAMCustomRole:IAMCustomRole"
GRANT_TYPES = (*IAM_MEMBER_TYPES, *IAM_BINDING_TYPES)

# https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Iam.Admin.V1/2.1.0/Google.Cloud.Iam.Admin.V1.CreateServiceAccountRequest:
# account_id "is unique within a project, must be 6-30 characters long, and match the regular
# expression [a-z]([-a-z0-9]*[a-z0-9]) to comply with RFC1035".
ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")
ACCOUNT_ID_MIN, ACCOUNT_ID_MAX = 6, 30

# https://docs.cloud.google.com/python/docs/reference/iam/latest/google.cloud.iam_admin_v1.types.CreateRoleRequest:
# "A role ID may contain alphanumeric characters, underscores (_), and periods (.). It must contain a
# minimum of 3 characters and a maximum of 64 characters."
CUSTOM_ROLE_ID = re.compile(r"^[A-Za-z0-9_.]{3,64}$")

# Principal identifiers of an allow-policy binding (https://cloud.google.com/iam/docs/reference/sts/rest/v1/Binding,
# members[]). Bucket policies also take the convenience values projectOwner:/projectEditor:/projectViewer:.
SPECIAL_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
EMAIL_KINDS = ("user", "group", "serviceAccount")
_EMAIL = re.compile(r"^[^@\s:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
_GKE_SA = re.compile(r"^[a-z0-9.:-]+\.svc\.id\.goog\[[^/\]]+/[^\]]+\]$")
_DELETED = re.compile(r"^deleted:(user|group|serviceAccount):[^@\s]+@[^?\s]+\?uid=\d+$")
_CONVENIENCE = re.compile(r"^(projectOwner|projectEditor|projectViewer):[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_FEDERATED = re.compile(r"^principal(Set)?://[a-z0-9.-]+\.googleapis\.com/\S+$")

# Role names: "The role name must be in the form "roles/{role}", "organizations/{organization_id}/roles/{role}",
# or "projects/{project_id}/roles/{role}"" (the API's error, https://github.com/google-github-actions/example-workflows/pull/19).
_ROLE = re.compile(r"^(roles/[A-Za-z0-9_.]+|projects/[a-z][-a-z0-9.:]{4,62}/roles/[A-Za-z0-9_.]{3,64}|organizations/[0-9]+/roles/[A-Za-z0-9_.]{3,64})$")
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})

# Placeholder domains reserved for documentation (RFC 2606): example.com/.net/.org and the TLDs
# .example, .test, .invalid, .localhost. No principal lives there, and GCP refuses a binding to a
# principal that does not exist ("Group ... does not exist., badRequest").
_PLACEHOLDER_DOMAIN = re.compile(r"(^|\.)(example\.(com|net|org)|[^.]+\.(example|test|invalid|localhost))$", re.IGNORECASE)

# Where a predefined role may be granted below the project: the "Lowest-level resources where you
# can grant this role" of the IAM roles reference (https://cloud.google.com/iam/docs/roles-permissions/run,
# .../secretmanager, .../storage, .../iam, .../artifactregistry, .../cloudkms, .../pubsub, .../bigquery,
# .../logging, .../monitoring). A role with no entry for a resource type holds no permission on it,
# and the resource's setIamPolicy answers "Role ... is not supported for this resource"
# (https://github.com/hashicorp/terraform-provider-google/issues/9130). An empty set: project and above only.
RESOURCE_SCOPES = frozenset({"bucket", "secret", "service-account", "run-service", "run-job", "repository", "crypto-key", "topic", "dataset"})
_RUN = frozenset({"run-service", "run-job"})
GRANTABLE_ON: dict[str, frozenset[str]] = {
    **{f"roles/run.{r}": _RUN for r in ("admin", "developer", "invoker", "viewer")},
    **{f"roles/secretmanager.{r}": frozenset({"secret"}) for r in ("admin", "secretAccessor", "secretVersionAdder", "secretVersionManager", "viewer")},
    **{f"roles/storage.{r}": frozenset({"bucket"}) for r in (
        "admin", "objectAdmin", "objectCreator", "objectViewer", "objectUser", "legacyBucketOwner", "legacyBucketReader",
        "legacyBucketWriter", "legacyObjectOwner", "legacyObjectReader")},
    **{f"roles/iam.{r}": frozenset({"service-account"}) for r in (
        "serviceAccountUser", "serviceAccountTokenCreator", "workloadIdentityUser", "serviceAccountOpenIdTokenCreator")},
    **{f"roles/artifactregistry.{r}": frozenset({"repository"}) for r in ("reader", "writer", "repoAdmin", "admin")},
    **{f"roles/cloudkms.{r}": frozenset({"crypto-key"}) for r in ("cryptoKeyEncrypterDecrypter", "cryptoKeyEncrypter", "cryptoKeyDecrypter")},
    "roles/pubsub.publisher": frozenset({"topic"}),
    **{f"roles/bigquery.{r}": frozenset({"dataset"}) for r in ("dataEditor", "dataViewer", "dataOwner")},
    **{f"roles/logging.{r}": frozenset() for r in ("logWriter", "configWriter", "bucketWriter")},
    **{f"roles/monitoring.{r}": frozenset() for r in ("metricWriter", "viewer", "editor")},
    "roles/cloudtrace.agent": frozenset(),
}
SCOPE_LABEL = {
    "bucket": "a Cloud Storage bucket", "secret": "a secret", "service-account": "a service account",
    "run-service": "a Cloud Run service", "run-job": "a Cloud Run job", "repository": "an Artifact Registry repository",
    "crypto-key": "a KMS key", "topic": "a Pub/Sub topic", "dataset": "a BigQuery dataset",
}

# Permissions are service.resource.verb; a project-level custom role can't hold permissions that only
# apply to organizations or folders ("If a permission can only be used at the organization level, you
# can't include it in a project-level custom role": https://documentation.s3ns.fr/iam/docs/creating-custom-roles?hl=de).
_PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$")
ORG_ONLY_PERMISSION_PREFIXES = ("resourcemanager.organizations.", "resourcemanager.folders.")


def member_field(grant: Grant) -> str:
    """The input that holds this grant's member: ``member``, or ``members[i]`` for a binding."""
    members = grant.resource.get("members")
    if isinstance(members, list) and grant.member in members:
        return f"members[{members.index(grant.member)}]"
    return "member"


def member_problem(member: str) -> str | None:
    """What is wrong with a principal identifier, or None when its form is one IAM accepts."""
    if member in SPECIAL_MEMBERS or _FEDERATED.match(member) or _DELETED.match(member) or _CONVENIENCE.match(member):
        return None
    kind, sep, value = member.partition(":")
    if not sep:
        return "it has no type prefix (user:, group:, serviceAccount:, domain:, principal://, ...)"
    if kind in EMAIL_KINDS:
        if _EMAIL.match(value) or (kind == "serviceAccount" and _GKE_SA.match(value)):
            return None
        return f"{value!r} is not an email address"
    if kind == "domain":
        return None if _DOMAIN.match(value) else f"{value!r} is not a domain name"
    return f"{kind + ':'!r} is not a principal type IAM knows (mind the case: serviceAccount:, not serviceaccount:)"


def placeholder_domain(member: str) -> str | None:
    """The reserved example domain a principal lives in, if any."""
    if member in SPECIAL_MEMBERS or member.startswith(("principal://", "principalSet://")):
        return None
    value = member.split(":", 1)[-1].split("?", 1)[0]
    domain = value.rsplit("@", 1)[-1]
    return domain if _PLACEHOLDER_DOMAIN.search(domain) else None


def _known(grant: Grant) -> bool:
    return bool(grant.member) and grant.member != UNKNOWN


@rule(
    "iam-account-id", types=(ACCOUNT,), severity=BLOCKS,
    title="the service account id is not 6-30 characters of [a-z]([-a-z0-9]*[a-z0-9])",
    source="https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Iam.Admin.V1/2.1.0/Google.Cloud.Iam.Admin.V1.CreateServiceAccountRequest",
)
def account_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = text(resource.get("accountId"))
    if value is None:
        return
    if ACCOUNT_ID_MIN <= len(value) <= ACCOUNT_ID_MAX and ACCOUNT_ID.match(value):
        return
    yield Problem(
        "accountId", f"{resource.name}: service account id {value!r} ({len(value)} characters) is refused: it must be "
        f"{ACCOUNT_ID_MIN}-{ACCOUNT_ID_MAX} lowercase letters, digits and dashes, start with a letter and not end with a dash",
        "choose an id such as 'chat-runtime' (6-30 characters; a longer logical name can go in display_name)",
    )


@stack_rule(
    "iam-account-id-duplicate", severity=BLOCKS, types=(ACCOUNT,),
    title="two service accounts take the same id in one project",
    source="https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Iam.Admin.V1/2.1.0/Google.Cloud.Iam.Admin.V1.CreateServiceAccountRequest",
)
def account_id_duplicate(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    seen: dict[tuple[str, str], Resource] = {}
    for account in sorted(inventory.of_type(ACCOUNT), key=lambda r: r.name):
        value = text(account.get("accountId"))
        if value is None:
            continue
        key = (inventory.project_of(account), value)
        first = seen.setdefault(key, account)
        if first is account or account.get("createIgnoreAlreadyExists") is True:
            continue
        yield account, Problem(
            "accountId", f"{account.name} and {first.name} both create service account {value!r} in project {key[0]}: "
            "account ids are unique in a project and the second create fails (409)",
            f"give {account.name} its own account_id, or reuse {first.name}'s email instead of declaring a second account",
        )


@stack_rule(
    "iam-member-format", severity=BLOCKS, types=GRANT_TYPES,
    title="an IAM member is not a principal identifier IAM accepts",
    # The API refuses it: "The member ... is of an unknown type. Please set a valid type prefix for the member."
    # (https://github.com/kestra-io/plugin-gcp/issues/318)
    source="https://cloud.google.com/iam/docs/reference/sts/rest/v1/Binding",
)
def member_format(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    invented = offline_ids(inventory)
    for grant in inventory.grants:
        if not _known(grant) or grant.member in invented:
            continue
        wrong = member_problem(grant.member)
        if wrong:
            yield grant.resource, Problem(
                member_field(grant), f"{grant.resource.name}: member {grant.member!r} is refused: {wrong}",
                "write the principal with its type, e.g. 'user:ann@corp.com', 'group:team@corp.com', "
                "'serviceAccount:app@project.iam.gserviceaccount.com' or 'domain:corp.com'",
            )


@stack_rule(
    "iam-placeholder-member", severity=BLOCKS, types=GRANT_TYPES,
    title="an IAM member lives in a reserved example domain (RFC 2606), so the principal does not exist",
    # setIamPolicy refuses a principal that does not exist: "Group gcp-data-engineers@somedomain.com does not exist., badRequest"
    source="https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/issues/1549",
)
def placeholder_member(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for grant in inventory.grants:
        if not _known(grant) or member_problem(grant.member):
            continue
        domain = placeholder_domain(grant.member)
        if domain:
            yield grant.resource, Problem(
                member_field(grant), f"{grant.resource.name} grants {grant.role or 'a role'} to {grant.member!r}: {domain} "
                "is a reserved example domain, no such principal exists and IAM refuses the binding",
                "replace the placeholder with a real user, group or service account of your organization",
            )


@stack_rule(
    "iam-role-name", severity=BLOCKS, types=GRANT_TYPES,
    title="a role name is not roles/..., projects/<p>/roles/... or organizations/<n>/roles/...",
    source="https://github.com/google-github-actions/example-workflows/pull/19",
)
def role_name(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    invented = offline_ids(inventory)
    for grant in inventory.grants:
        role = grant.role
        if not role or role == UNKNOWN or role in invented or _ROLE.match(role):
            continue
        yield grant.resource, Problem(
            "role", f"{grant.resource.name}: role {role!r} is refused: a role name is 'roles/<service>.<role>', "
            "'projects/<project>/roles/<id>' or 'organizations/<number>/roles/<id>'",
            "write a predefined role in full (e.g. 'roles/storage.objectViewer', not 'storage.objectViewer') or pass "
            "the custom role's name output (projects/<project>/roles/<id>)",
        )


@stack_rule(
    "iam-role-not-grantable-here", severity=BLOCKS, types=GRANT_TYPES,
    title="a predefined role is granted on a resource type it holds no permissions for",
    source="https://cloud.google.com/iam/docs/roles-permissions/run",
)
def role_not_grantable(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for grant in inventory.grants:
        allowed = GRANTABLE_ON.get(grant.role)
        if allowed is None or grant.scope not in RESOURCE_SCOPES or grant.scope in allowed:
            continue
        where = ", ".join(sorted(SCOPE_LABEL[s] for s in allowed)) if allowed else "a project (or above)"
        yield grant.resource, Problem(
            "role", f"{grant.resource.name} grants {grant.role} on {SCOPE_LABEL[grant.scope]}, where that role can't be "
            f"granted (its lowest level is {where}): the policy update is refused",
            f"grant {grant.role} where it applies ({where}), or pick the role of this resource's own service",
        )


@stack_rule(
    "iam-condition-not-allowed", severity=BLOCKS, types=GRANT_TYPES,
    title="an IAM condition on a basic role or on allUsers/allAuthenticatedUsers",
    # "You cannot use conditions when you grant legacy basic roles ... Also, you cannot use conditions when
    # you grant roles to all users (allUsers) or all authenticated users (allAuthenticatedUsers)."
    source="https://docs.cloud.google.com/iam/docs/conditions-overview",
)
def condition_not_allowed(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    for grant in inventory.grants:
        condition = grant.resource.get("condition")
        if not isinstance(condition, dict) or not condition:
            continue
        if grant.role in BASIC_ROLES:
            yield grant.resource, Problem(
                "condition", f"{grant.resource.name} puts a condition on basic role {grant.role}, which IAM refuses",
                "grant a predefined role that fits the condition's purpose, or drop the condition",
            )
        elif grant.member in SPECIAL_MEMBERS:
            yield grant.resource, Problem(
                "condition", f"{grant.resource.name} puts a condition on a grant to {grant.member}, which IAM refuses",
                "drop the condition, or grant to specific principals",
            )


@rule(
    "iam-custom-role-id", types=(CUSTOM_ROLE, ORG_CUSTOM_ROLE), severity=BLOCKS,
    title="the custom role id is not 3-64 characters of letters, digits, '_' and '.'",
    source="https://docs.cloud.google.com/python/docs/reference/iam/latest/google.cloud.iam_admin_v1.types.CreateRoleRequest",
)
def custom_role_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = text(resource.get("roleId"))
    if value is None or CUSTOM_ROLE_ID.match(value):
        return
    yield Problem(
        "roleId", f"{resource.name}: custom role id {value!r} is refused: 3-64 letters, digits, '_' or '.' (no '-')",
        f"use e.g. {re.sub(r'[^A-Za-z0-9_.]', '_', value)[:64]!r} (camelCase is usual: 'firestoreExporter')",
    )


@rule(
    "iam-custom-role-permissions", types=(CUSTOM_ROLE, ORG_CUSTOM_ROLE), severity=BLOCKS,
    title="a custom role lists no permission, a malformed one, or an organization-only one at project level",
    source="https://documentation.s3ns.fr/iam/docs/creating-custom-roles?hl=de",
)
def custom_role_permissions(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    permissions = resource.get("permissions")
    if is_unknown(permissions):
        return
    items = [p for p in as_list(permissions) if isinstance(p, str) and p != UNKNOWN]
    if not as_list(permissions):
        yield Problem("permissions", f"{resource.name} grants no permission; a custom role needs at least one",
                      "list the permissions, e.g. ['datastore.databases.export']")
        return
    for index, permission in enumerate(items):
        if not _PERMISSION.match(permission):
            yield Problem(
                f"permissions[{index}]", f"{resource.name}: {permission!r} is not a permission name (service.resource.verb, "
                "no wildcards)", "list each permission in full, e.g. 'storage.objects.get'",
            )
        elif resource.type == CUSTOM_ROLE and permission.startswith(ORG_ONLY_PERMISSION_PREFIXES):
            yield Problem(
                f"permissions[{index}]", f"{resource.name}: {permission} applies only to organizations or folders and can't be "
                "in a project-level custom role", "drop it, or define the role at organization level",
            )

