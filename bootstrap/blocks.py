"""The bootstrap's building blocks, one resource family each: Pulumi backend (state bucket + KMS
key), GitHub federation (pool + OIDC provider), a CI identity (service account impersonable by one
GitHub subject, with its grants) and the shared image registry."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

STATE_BUCKET_CLASS = "data"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass
class PulumiBackendArgs:
    project: str
    bucket_name: str
    bucket_location: str
    noncurrent_versions: int
    key_ring: str
    key: str
    key_location: str
    rotation_days: int
    labels: dict[str, str]


class PulumiBackend(pulumi.ComponentResource):
    """Where every stack keeps its state (gs://) and encrypts its secrets (gcpkms://)."""

    def __init__(self, name: str, args: PulumiBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:bootstrap:PulumiBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=True)
        self.bucket = gcp.storage.Bucket(
            f"{name}-state",
            name=args.bucket_name,
            project=args.project,
            location=args.bucket_location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            # Every update rewrites the state file: keep a bounded history of it.
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(num_newer_versions=args.noncurrent_versions, with_state="ARCHIVED"),
            )],
            force_destroy=False,
            labels={**args.labels, "bucket-class": STATE_BUCKET_CLASS},
            opts=child,
        )
        # Key rings can never be deleted in Cloud KMS; the key is protected so state stays decryptable.
        self.key_ring = gcp.kms.KeyRing(f"{name}-keyring", name=args.key_ring, location=args.key_location,
                                        project=args.project, opts=child)
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=args.key,
            key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{args.rotation_days * 86400}s",
            labels=args.labels,
            opts=child,
        )
        self.backend_url = pulumi.Output.concat("gs://", self.bucket.name)
        self.secrets_provider = pulumi.Output.concat(
            "gcpkms://projects/", args.project, "/locations/", args.key_location,
            "/keyRings/", args.key_ring, "/cryptoKeys/", args.key,
        )
        self.register_outputs({"backend_url": self.backend_url, "secrets_provider": self.secrets_provider})


@dataclass
class GithubFederationArgs:
    project: str
    project_number: pulumi.Input[str]
    pool_id: str
    provider_id: str
    repository: str
    repository_id: str | None = None
    owner_id: str | None = None


def attribute_condition(repository: str, repository_id: str | None, owner_id: str | None) -> str:
    """Only tokens minted for this repository are accepted (ids, when known, can't be re-registered)."""
    if repository_id and owner_id:
        return f"assertion.repository_id == '{repository_id}' && assertion.repository_owner_id == '{owner_id}'"
    return f"assertion.repository == '{repository}'"


class GithubFederation(pulumi.ComponentResource):
    """A workload identity pool whose OIDC provider trusts GitHub Actions for one repository only."""

    def __init__(self, name: str, args: GithubFederationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:bootstrap:GithubFederation", name, None, opts)
        self.args = args
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=args.project,
            workload_identity_pool_id=args.pool_id,
            display_name="GitHub Actions",
            description=f"CI of {args.repository}",
            disabled=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-provider",
            project=args.project,
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=args.provider_id,
            display_name="GitHub OIDC",
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.repository": "assertion.repository",
                "attribute.repository_id": "assertion.repository_id",
                "attribute.repository_owner_id": "assertion.repository_owner_id",
                "attribute.ref": "assertion.ref",
            },
            attribute_condition=attribute_condition(args.repository, args.repository_id, args.owner_id),
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=GITHUB_ISSUER),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.pool_path = pulumi.Output.concat(
            "projects/", args.project_number, "/locations/global/workloadIdentityPools/", args.pool_id)
        self.provider_path = pulumi.Output.concat(self.pool_path, "/providers/", args.provider_id)
        self.register_outputs({"workload_identity_provider": self.provider_path})

    def subject(self, claim: str) -> pulumi.Output[str]:
        """The principal for one exact GitHub `sub` claim of this repository (e.g. `environment:prod`)."""
        return pulumi.Output.concat("principal://iam.googleapis.com/", self.pool_path,
                                    "/subject/repo:", self.args.repository, ":", claim)


@dataclass
class ProjectGrant:
    project: str
    role: str
    condition: gcp.projects.IAMMemberConditionArgs | None = None


@dataclass
class CiIdentityArgs:
    project: str
    account_id: str
    description: str
    federation: GithubFederation
    github_subject: str  # the `sub` claim after `repo:OWNER/NAME:`
    project_grants: list[ProjectGrant] = field(default_factory=list)
    bucket_roles: list[tuple[pulumi.Input[str], str]] = field(default_factory=list)  # (bucket, role)
    key_roles: list[tuple[pulumi.Input[str], str]] = field(default_factory=list)  # (crypto key id, role)
    repository_roles: list[tuple[gcp.artifactregistry.Repository, str]] = field(default_factory=list)
    billing_roles: list[tuple[str, str]] = field(default_factory=list)  # (billing account, role)


class CiIdentity(pulumi.ComponentResource):
    """A service account that exactly one kind of GitHub job may impersonate, with its grants."""

    def __init__(self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:bootstrap:CiIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            f"{name}-sa", project=args.project, account_id=args.account_id,
            display_name=args.account_id, description=args.description, opts=child)
        self.email = self.account.email
        member = pulumi.Output.concat("serviceAccount:", self.account.email)
        gcp.serviceaccount.IAMMember(
            f"{name}-wif", service_account_id=self.account.name, role="roles/iam.workloadIdentityUser",
            member=args.federation.subject(args.github_subject), opts=child)
        # Grants right after the account is created can race its propagation; depend explicitly.
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.account])
        for grant in args.project_grants:
            short = grant.role.rsplit("/", 1)[-1].replace(".", "-")
            gcp.projects.IAMMember(f"{name}-{grant.project}-{short}", project=grant.project, role=grant.role,
                                   member=member, condition=grant.condition, opts=after)
        for index, (bucket, role) in enumerate(args.bucket_roles):
            gcp.storage.BucketIAMMember(f"{name}-bucket-{index}", bucket=bucket, role=role, member=member, opts=after)
        for index, (key, role) in enumerate(args.key_roles):
            gcp.kms.CryptoKeyIAMMember(f"{name}-key-{index}", crypto_key_id=key, role=role, member=member, opts=after)
        for index, (repository, role) in enumerate(args.repository_roles):
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-registry-{index}", project=repository.project, location=repository.location,
                repository=repository.repository_id, role=role, member=member, opts=after)
        for account, role in args.billing_roles:
            gcp.billing.AccountIamMember(f"{name}-billing-{role.rsplit('/', 1)[-1]}", billing_account_id=account,
                                         role=role, member=member, opts=after)
        self.register_outputs({"email": self.email})


@dataclass
class ImageRegistryArgs:
    project: str
    location: str
    repository_id: str
    keep_recent: int
    labels: dict[str, str]
    # Cloud Run service agents of the stage projects, which pull the promoted image.
    readers: list[pulumi.Input[str]] = field(default_factory=list)


class ImageRegistry(pulumi.ComponentResource):
    """The one registry CI pushes to: an image is built once and the same digest is promoted."""

    def __init__(self, name: str, args: ImageRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:bootstrap:ImageRegistry", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-repo",
            project=args.project,
            location=args.location,
            repository_id=args.repository_id,
            format="DOCKER",
            description="stagewise images, promoted by digest",
            docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
            # Delete images older than 30 days unless among the most recent (a KEEP rule wins over DELETE).
            cleanup_policies=[
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-old", action="DELETE",
                    condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(tag_state="ANY", older_than="2592000s"),
                ),
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="keep-recent", action="KEEP",
                    most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=args.keep_recent),
                ),
            ],
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for index, reader in enumerate(args.readers):
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-reader-{index}", project=args.project, location=args.location,
                repository=self.repository.repository_id, role="roles/artifactregistry.reader", member=reader,
                opts=pulumi.ResourceOptions(parent=self))
        self.url = pulumi.Output.concat(args.location, "-docker.pkg.dev/", args.project, "/", args.repository_id)
        self.register_outputs({"url": self.url})


@dataclass
class AuditTrailArgs:
    project: str
    retention_days: int
    # Services whose data-access logs (token exchanges, impersonation) are turned on.
    data_access_services: tuple[str, ...] = ("sts.googleapis.com", "iamcredentials.googleapis.com")


class AuditTrail(pulumi.ComponentResource):
    """Who exchanged a GitHub token and impersonated which deployer, kept for a year."""

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:bootstrap:AuditTrail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for service in args.data_access_services:
            gcp.projects.IAMAuditConfig(
                f"{name}-{service.split('.')[0]}", project=args.project, service=service,
                audit_log_configs=[gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=kind)
                                   for kind in ("ADMIN_READ", "DATA_READ")],
                opts=child)
        self.bucket = gcp.logging.ProjectBucketConfig(
            f"{name}-logs", project=args.project, location="global", bucket_id=name,
            retention_days=args.retention_days, description="CI audit logs", opts=child)
        self.sink = gcp.logging.ProjectSink(
            f"{name}-sink", project=args.project, name=name,
            destination=f"logging.googleapis.com/projects/{args.project}/locations/global/buckets/{name}",
            filter='logName:"cloudaudit.googleapis.com"', unique_writer_identity=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bucket]))
        self.register_outputs({})
