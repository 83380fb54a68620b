"""The bootstrap program: validate config, then declare what CI needs before its first run."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from bootstrap.blocks import (
    AuditTrail,
    AuditTrailArgs,
    CiIdentity,
    CiIdentityArgs,
    GithubFederation,
    GithubFederationArgs,
    ImageRegistry,
    ImageRegistryArgs,
    ProjectGrant,
    PulumiBackend,
    PulumiBackendArgs,
)
from bootstrap.config import BootstrapConfig, config_from_pulumi
from bootstrap.roles import BILLING_ROLES, STAGE_ROLES, grant_condition_expression, grantable_roles

CI_APIS = (
    "cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com", "iam.googleapis.com",
    "iamcredentials.googleapis.com", "sts.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com",
    "artifactregistry.googleapis.com", "logging.googleapis.com",
)
# What a stage project needs before its deployer can enable the rest itself.
STAGE_APIS = ("cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com", "iam.googleapis.com", "run.googleapis.com")
PROJECT_IAM_ADMIN = "roles/resourcemanager.projectIamAdmin"


def enable_apis(name: str, project: str, services: tuple[str, ...]) -> list[gcp.projects.Service]:
    return [
        gcp.projects.Service(f"{name}-{service.split('.')[0]}", project=project, service=service,
                             disable_on_destroy=False)
        for service in services
    ]


def stage_grants(config: BootstrapConfig, stage: str) -> list[ProjectGrant]:
    target = config.stages[stage]
    roles = sorted((set(STAGE_ROLES[stage]) | set(target.extra_roles)) - BILLING_ROLES)
    condition = gcp.projects.IAMMemberConditionArgs(
        title="grant-only-stack-roles",
        description="The deployer may grant only the roles the stagewise stacks give their own service accounts.",
        expression=grant_condition_expression(grantable_roles(target.project)),
    )
    return [ProjectGrant(target.project, role, condition if role == PROJECT_IAM_ADMIN else None) for role in roles]


def compose(config: BootstrapConfig) -> None:
    ci = config.gcp.project
    apis = enable_apis("ci-api", ci, CI_APIS)
    after_apis = pulumi.ResourceOptions(depends_on=apis)
    stage_numbers: dict[str, pulumi.Output[str]] = {}
    stage_apis: list[gcp.projects.Service] = []
    for stage, target in sorted(config.stages.items()):
        stage_apis += enable_apis(f"{stage}-api", target.project, STAGE_APIS)
        stage_numbers[stage] = gcp.organizations.get_project_output(project_id=target.project).number

    backend = PulumiBackend("pulumi", PulumiBackendArgs(
        project=ci,
        bucket_name=config.bucket_name,
        bucket_location=config.state_bucket.location or config.gcp.region,
        noncurrent_versions=config.state_bucket.noncurrent_versions,
        key_ring=config.kms.key_ring,
        key=config.kms.key,
        key_location=config.kms.location or config.gcp.region,
        rotation_days=config.kms.rotation_days,
        labels=config.all_labels,
    ), after_apis)

    AuditTrail("ci-audit", AuditTrailArgs(project=ci, retention_days=config.audit_retention_days), after_apis)

    ci_number = gcp.organizations.get_project_output(project_id=ci).number
    federation = GithubFederation("github", GithubFederationArgs(
        project=ci,
        project_number=ci_number,
        pool_id=config.identity.pool_id,
        provider_id=config.identity.provider_id,
        repository=config.github.repository,
        repository_id=config.github.repository_id,
        owner_id=config.github.owner_id,
    ), after_apis)

    registry = ImageRegistry("images", ImageRegistryArgs(
        project=ci,
        location=config.gcp.region,
        repository_id=config.registry.repository_id,
        keep_recent=config.registry.keep_recent,
        labels=config.all_labels,
        readers=[pulumi.Output.concat("serviceAccount:service-", number, "@serverless-robot-prod.iam.gserviceaccount.com")
                 for _, number in sorted(stage_numbers.items())],
    ), pulumi.ResourceOptions(depends_on=apis + stage_apis))

    state_access = [(backend.bucket.name, "roles/storage.objectUser")]
    deployers: dict[str, pulumi.Output[str]] = {}
    for stage in sorted(config.stages):
        needs_billing = bool(BILLING_ROLES & set(STAGE_ROLES[stage]))
        deployer = CiIdentity(f"deploy-{stage}", CiIdentityArgs(
            project=ci,
            account_id=f"deploy-{stage}",
            description=f"Runs `pulumi up --stack {stage}` from the GitHub environment {config.environment(stage)!r}",
            federation=federation,
            github_subject=f"environment:{config.environment(stage)}",
            project_grants=stage_grants(config, stage),
            bucket_roles=list(state_access),
            key_roles=[(backend.key.id, "roles/cloudkms.cryptoKeyEncrypterDecrypter")],
            billing_roles=[(config.billing_account, "roles/billing.costsManager")] if needs_billing and config.billing_account else [],
        ), after_apis)
        deployers[stage] = deployer.email

    # Pull-request previews run code from the PR: read-only state, decrypt only, nothing to write.
    previewer = CiIdentity("preview", CiIdentityArgs(
        project=ci,
        account_id="pulumi-preview",
        description="Runs `pulumi preview` on pull requests of this repository (read-only)",
        federation=federation,
        github_subject="pull_request",
        project_grants=[ProjectGrant(target.project, "roles/browser") for _, target in sorted(config.stages.items())],
        bucket_roles=[(backend.bucket.name, "roles/storage.objectViewer")],
        key_roles=[(backend.key.id, "roles/cloudkms.cryptoKeyDecrypter")],
    ), after_apis)

    builder = CiIdentity("image-builder", CiIdentityArgs(
        project=ci,
        account_id="image-builder",
        description=f"Builds and pushes the app image on pushes to {config.github.main_branch}",
        federation=federation,
        github_subject=f"ref:refs/heads/{config.github.main_branch}",
        repository_roles=[(registry.repository, "roles/artifactregistry.writer")],
    ), after_apis)

    pulumi.export("backend_url", backend.backend_url)
    pulumi.export("secrets_provider", backend.secrets_provider)
    pulumi.export("workload_identity_provider", federation.provider_path)
    pulumi.export("image_repository", registry.url)
    pulumi.export("deployers", deployers)
    # Per GitHub environment (`gh variable set GCP_DEPLOY_SERVICE_ACCOUNT --env ENV --body VALUE`).
    pulumi.export("environment_variables", {
        config.environment(stage): {"GCP_DEPLOY_SERVICE_ACCOUNT": email} for stage, email in deployers.items()
    })
    pulumi.export("previewer", previewer.email)
    pulumi.export("image_builder", builder.email)
    # Exactly the repository variables the workflows read (`gh variable set NAME --body VALUE`).
    pulumi.export("github_variables", pulumi.Output.all(
        backend.backend_url, backend.secrets_provider, federation.provider_path, registry.url, previewer.email, builder.email,
    ).apply(lambda v: {
        "PULUMI_BACKEND_URL": v[0], "PULUMI_SECRETS_PROVIDER": v[1], "GCP_WORKLOAD_IDENTITY_PROVIDER": v[2],
        "IMAGE_REPOSITORY": v[3], "GCP_PREVIEW_SERVICE_ACCOUNT": v[4], "GCP_BUILD_SERVICE_ACCOUNT": v[5],
    }))


def main() -> None:
    # Fails here, before any resource is declared, when the config is wrong.
    compose(config_from_pulumi())
