"""Rules for what no rule used to check (issue 16): admin roles to people, broad custom roles, audit
logging, CMEK on disks, KMS rotation, the Workload Identity provider's condition. Each has failing and
passing raw pulumi_gcp programs, and our own components that declare the type (the bootstrap's
blocks, the prod Firestore export) pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import policy_fixtures as f
import pulumi
import pulumi_gcp as gcp
import pytest
from policy_fixtures import compute, prod

from bootstrap.blocks import (
    GITHUB_ISSUER,
    AuditTrail,
    AuditTrailArgs,
    GithubFederation,
    GithubFederationArgs,
    PulumiBackend,
    PulumiBackendArgs,
    attribute_condition,
)
from stagewise.components.firestore import FirestoreDatabase, FirestoreDatabaseArgs
from stagewise.components.firestore_export import FirestoreExport

STACK = ""
DAY = f.DAY


@dataclass(frozen=True)
class Case:
    id: str
    program: Callable[[], None]
    expected: set[tuple[str, str]]
    stage: str = "prod"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    families: tuple[str, ...] = ()  # tests/policy_families.py; parity: tests/test_policy_family_parity.py


def custom_role(permissions: list[str], name: str = "role") -> gcp.projects.IAMCustomRole:
    return gcp.projects.IAMCustomRole(name, project=f.PROJECT, role_id="stagewiseRole", title="stagewise", permissions=permissions)


def audit(name: str, service: str, kinds: tuple[str, ...], exempted: list[str] | None = None) -> gcp.projects.IAMAuditConfig:
    return gcp.projects.IAMAuditConfig(name, project=f.PROJECT, service=service, audit_log_configs=[
        gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=kind, exempted_members=exempted) for kind in kinds])


def crypto_key(name: str = "key", **overrides: Any) -> gcp.kms.CryptoKey:
    args: dict[str, Any] = dict(name="state", key_ring=f"projects/{f.PROJECT}/locations/{f.REGION}/keyRings/stagewise",
                                rotation_period=f"{90 * DAY}s", labels=f.labels())
    return gcp.kms.CryptoKey(name, **{**args, **overrides})


def wif_provider(condition: str | None, issuer: str = GITHUB_ISSUER, name: str = "github") -> gcp.iam.WorkloadIdentityPoolProvider:
    return gcp.iam.WorkloadIdentityPoolProvider(
        name, project=f.PROJECT, workload_identity_pool_id="ci", workload_identity_pool_provider_id=name,
        attribute_mapping={"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
        attribute_condition=condition, oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=issuer))


def disk(name: str = "data-disk", keyed: bool = True) -> compute.Disk:
    return compute.Disk(name, project=f.PROJECT, zone=f"{f.REGION}-a", size=50, labels=f.labels(),
                        disk_encryption_key=compute.DiskDiskEncryptionKeyArgs(kms_key_self_link=f.KMS_KEY) if keyed else None)


def bootstrap_blocks() -> None:
    """The bootstrap's own state backend, GitHub federation and audit trail (its real components)."""
    PulumiBackend("backend", PulumiBackendArgs(
        project=f.PROJECT, bucket_name="stagewise-state", bucket_location="US-CENTRAL1", noncurrent_versions=20,
        key_ring="pulumi", key="state", key_location=f.REGION, rotation_days=90, labels=f.labels()))
    GithubFederation("github", GithubFederationArgs(
        project=f.PROJECT, project_number="123456789012", pool_id="github", provider_id="actions",
        repository="acme/stagewise", repository_id="123", owner_id="456"))
    AuditTrail("audit", AuditTrailArgs(project=f.PROJECT, retention_days=365))


def firestore_export() -> None:
    """Prod's scheduled Firestore export: a service account, a narrow custom role and its grant."""
    database = FirestoreDatabase("db", FirestoreDatabaseArgs(project=f.PROJECT, location_id="nam5", point_in_time_recovery=True,
                                                            delete_protection=True, backup_retention_days=14))
    FirestoreExport("firestore-export", f.PROJECT, f.REGION, database, "stagewise-backups",
                    opts=pulumi.ResourceOptions())


TOO_MANY = [f"run.services.{verb}{i}" for i in range(41) for verb in ("get",)]

CASES = [
    # --- admin or owner-like roles to people ----------------------------------------------------------------
    Case("group-project-admin", prod(lambda: f.project_member("ops-admin", "roles/run.admin", "group:ops@example.com")),
         {("iam-people-no-admin-roles", "ops-admin")}, families=("people-admin-roles",)),
    Case("user-owner-like", prod(lambda: f.project_member("owner-ish", "roles/bigquery.dataOwner", "user:alice@example.com")),
         {("iam-people-no-admin-roles", "owner-ish"), ("iam-no-user-principals", "owner-ish")}, families=("people-admin-roles",)),
    Case("federated-admin", prod(lambda: f.project_member("wif-admin", "roles/iam.securityAdmin",
                                                          "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/*")),
         {("iam-people-no-admin-roles", "wif-admin")}, families=("people-admin-roles",)),
    # Admin on one bucket, and the same group reading logs project-wide: neither is a project-level admin role.
    Case("admin-on-one-resource", prod(lambda: gcp.storage.BucketIAMMember("bucket-admin", bucket="data", role="roles/storage.admin",
                                                                           member="group:ops@example.com"),
                                       lambda: f.project_member("ops-viewer", "roles/logging.viewer", "group:ops@example.com")), set(), families=("people-admin-roles",)),
    Case("viewer-project-wide", prod(lambda: f.project_member("viewer", "roles/logging.viewer", "group:ops@example.com")), set(), families=("people-admin-roles",)),
    Case("admin-allowed-by-config", prod(lambda: f.project_member("ops-admin", "roles/run.admin", "group:ops@example.com")), set(),
         overrides={"iam-people-no-admin-roles": {"enforcementLevel": "mandatory", "allowedRoles": ["roles/run.admin"]}}, families=("people-admin-roles",)),
    # --- custom roles ----------------------------------------------------------------------------------------
    Case("role-that-impersonates", prod(lambda: custom_role(["run.services.get", "iam.serviceAccounts.actAs"])),
         {("iam-custom-role-least-privilege", "role")}, families=("custom-role-breadth",)),
    Case("role-that-edits-iam", prod(lambda: custom_role(["storage.buckets.setIamPolicy"])), {("iam-custom-role-least-privilege", "role")}, families=("custom-role-breadth",)),
    Case("role-too-broad", prod(lambda: custom_role(TOO_MANY)), {("iam-custom-role-least-privilege", "role")}, families=("custom-role-breadth",)),
    Case("role-that-is-narrow", prod(lambda: custom_role(["datastore.databases.export", "datastore.operations.get"])), set(), families=("custom-role-breadth",)),
    Case("org-role-that-mints-keys", prod(lambda: gcp.organizations.IAMCustomRole(
        "org-role", org_id="123", role_id="keys", title="keys", permissions=["iam.serviceAccountKeys.create"])),
         {("iam-custom-role-least-privilege", "org-role")}, families=("custom-role-breadth",)),
    Case("component-firestore-export", prod(firestore_export), set(), families=("custom-role-breadth",)),
    # --- audit logging ---------------------------------------------------------------------------------------------
    Case("audit-exempts-someone", prod(lambda: audit("sts-audit", "sts.googleapis.com", ("DATA_READ",), ["user:ci@example.com"])),
         {("obs-audit-log-config", "sts-audit")}, families=("audit-config",)),
    Case("all-services-without-writes", prod(lambda: audit("all-audit", "allServices", ("ADMIN_READ", "DATA_READ"))),
         {("obs-audit-log-config", "all-audit")}, families=("audit-config",)),
    Case("service-audit-without-writes-is-fine", prod(lambda: audit("sts-audit", "sts.googleapis.com", ("ADMIN_READ", "DATA_READ"))), set(), families=("audit-config",)),
    Case("no-all-services-audit", lambda: (f.bucket("frame-logs", "logs"), gcp.logging.ProjectSink(
        "frame-sink", project=f.PROJECT, destination="storage.googleapis.com/frame-logs"), gcp.billing.Budget(
        "frame-budget", billing_account="000000-000000-000000",
        amount=gcp.billing.BudgetAmountArgs(specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(units="300")),
        threshold_rules=[gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.9)])), {("obs-audit-logs-all-services", STACK)}, families=("audit-config",)),
    # --- CMEK on disks ----------------------------------------------------------------------------------------------
    Case("disk-without-key", prod(lambda: disk(keyed=False)), {("compute-disk-cmek", "data-disk")}, families=("disk-cmek",)),
    Case("disk-with-key", prod(lambda: disk()), set(), families=("disk-cmek",)),
    Case("vm-boot-disk-without-key", prod(lambda: f.vm(boot_disk=compute.InstanceBootDiskArgs(
        initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="debian-cloud/debian-12")))), {("compute-disk-cmek", "vm")}, families=("disk-cmek",)),
    Case("vm-boot-disk-attached", prod(lambda: f.vm(boot_disk=compute.InstanceBootDiskArgs(source="existing-disk"))), set(), families=("disk-cmek",)),
    Case("template-disk-without-key", prod(lambda: f.gpu_group(template_overrides={"disks": [compute.RegionInstanceTemplateDiskArgs(
        source_image="cos-cloud/cos-stable", boot=True)]})), {("compute-disk-cmek", "gpu-template")}, families=("disk-cmek",)),
    Case("disk-cmek-off-in-staging", lambda: (f.frame("staging"), disk(keyed=False)), set(), stage="staging", families=("disk-cmek",)),
    # --- KMS rotation ------------------------------------------------------------------------------------------------
    Case("key-never-rotates", prod(lambda: crypto_key(rotation_period=None)), {("kms-key-rotation", "key")}, families=("kms-rotation",)),
    Case("key-rotates-yearly", prod(lambda: crypto_key(rotation_period=f"{365 * DAY}s")), {("kms-key-rotation", "key")}, families=("kms-rotation",)),
    Case("key-rotates-quarterly", prod(lambda: crypto_key()), set(), families=("kms-rotation",)),
    Case("asymmetric-key-cannot-rotate", prod(lambda: crypto_key(purpose="ASYMMETRIC_SIGN", rotation_period=None,
                                                                 version_template=gcp.kms.CryptoKeyVersionTemplateArgs(algorithm="EC_SIGN_P256_SHA256"))),
         set(), families=("kms-rotation",)),
    # --- Workload Identity Federation ---------------------------------------------------------------------------------
    Case("wif-without-condition", prod(lambda: wif_provider(None)), {("iam-wif-attribute-condition", "github")}, families=("wif-condition",)),
    Case("wif-always-true", prod(lambda: wif_provider("true")), {("iam-wif-attribute-condition", "github")}, families=("wif-condition",)),
    Case("wif-github-branch-only", prod(lambda: wif_provider("assertion.ref == 'refs/heads/main'")), {("iam-wif-attribute-condition", "github")}, families=("wif-condition",)),
    Case("wif-github-any-repo", prod(lambda: wif_provider("assertion.sub == 'repo:*/*:ref:refs/heads/main'")),
         {("iam-wif-attribute-condition", "github")}, families=("wif-condition",)),
    Case("wif-github-repository", prod(lambda: wif_provider("assertion.repository == 'acme/stagewise'")), set(), families=("wif-condition",)),
    Case("wif-github-ids", prod(lambda: wif_provider(attribute_condition("acme/stagewise", "123", "456"))), set(), families=("wif-condition",)),
    Case("wif-other-issuer-with-condition", prod(lambda: wif_provider("assertion.aud == 'stagewise'", issuer="https://gitlab.example.com")), set(), families=("wif-condition",)),
    # The state bucket keeps Google-managed encryption (its secrets are KMS-encrypted by Pulumi): advisory in prod.
    Case("component-bootstrap-blocks", prod(bootstrap_blocks), {("storage-cmek", "backend-state")}, families=("bucket-cmek", "kms-rotation", "wif-condition", "audit-config",)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exact_verdicts(case: Case) -> None:
    assert f.violations(case.program, case.stage, case.overrides) == case.expected


def test_unknown_permissions_and_conditions_fail_closed() -> None:
    """A custom role's permissions and a provider's condition are literals in a program; unknown at preview,
    they cannot be vouched for."""
    from test_policy_unknowns import with_unknown

    run = with_unknown(f.run(prod(lambda: custom_role(["run.services.get"]))), "role", "permissions")
    assert {(v.policy, v.level) for v in f.analyzer().evaluate(run).verdicts if "cannot verify" in v.message} == {
        ("iam-custom-role-least-privilege", "mandatory")}
    run = with_unknown(f.run(prod(lambda: wif_provider("assertion.repository == 'a/b'"))), "github", "attributeCondition")
    assert {(v.policy, v.level) for v in f.analyzer().evaluate(run).verdicts if "cannot verify" in v.message} == {
        ("iam-wif-attribute-condition", "mandatory")}
