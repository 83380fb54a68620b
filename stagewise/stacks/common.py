"""Pieces every stage composes the same way: APIs, image, data store, buckets, model, chat service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi

from stagewise.components.apis import ProjectServices, ProjectServicesArgs
from stagewise.components.audit_logs import ProjectAuditLogs, ProjectAuditLogsArgs
from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
from stagewise.components.chat_service import ChatService, ChatServiceArgs, GrantHook, TrafficSplit, VpcEgress
from stagewise.components.firestore import FirestoreDatabase, FirestoreDatabaseArgs
from stagewise.components.guardrails import Guardrails
from stagewise.components.iam import BucketRole, Grant, ProjectRole
from stagewise.components.inference import InferenceEndpoint, InferenceEndpointArgs, ManagedModel
from stagewise.components.log_metrics import ErrorLogMetric, ErrorLogMetricArgs
from stagewise.components.secrets import SecretSet, SecretSetArgs, no_key_matches
from stagewise.components.registry import BuildFromSource, ContainerImage, ContainerImageArgs, ExternalImage
from stagewise.stacks.config import ConfigError, StackConfig
from stagewise.stacks.config.inference import ManagedInferenceConfig
from stagewise.stacks.config.service import PARTNER_KEY_PREFIX, ServiceConfig

# The project directory (Pulumi.yaml) and the app's build context relative to it, as Docker is given it.
PROJECT_DIR = str(Path(__file__).resolve().parents[2])
APP_CONTEXT = "app"

BASE_APIS = (
    "run.googleapis.com",
    "iam.googleapis.com",
    "firestore.googleapis.com",
    "storage.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "secretmanager.googleapis.com",
    "artifactregistry.googleapis.com",
    "aiplatform.googleapis.com",
)


def enable_apis(config: StackConfig, extra: tuple[str, ...] = ()) -> ProjectServices:
    from stagewise.stacks import guardrails

    services = [*BASE_APIS, *extra, *config.extra_apis]
    if guardrails.settings(config) is not None:  # also checks the guardrails config, before any resource
        services.append(guardrails.API)
    return ProjectServices("apis", ProjectServicesArgs(project=config.gcp.project, services=services))


def audit_logs(config: StackConfig, apis: ProjectServices) -> ProjectAuditLogs | None:
    """Data Access audit logs for allServices when the stage turns them on (stagewise:logging.dataAccessAuditLogs)."""
    if not config.logging.audit_logs_on(config.stage):
        return None
    return ProjectAuditLogs("audit-logs", ProjectAuditLogsArgs(project=config.gcp.project),
                            opts=pulumi.ResourceOptions(depends_on=apis.ready))


def container_image(config: StackConfig, apis: ProjectServices) -> ContainerImage:
    image = config.service.image
    source: BuildFromSource | ExternalImage
    if image.mode == "external" and image.ref:
        source = ExternalImage(ref=image.ref, keep_recent=image.keep_recent)
    else:
        source = BuildFromSource(context=APP_CONTEXT, root=PROJECT_DIR, keep_recent=image.keep_recent)
    return ContainerImage(
        "image",
        ContainerImageArgs(project=config.gcp.project, region=config.gcp.region, source=source, labels=config.all_labels),
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )


def shared_quotas(config: StackConfig) -> bool:
    """Staging and prod run many instances: per-tenant quotas count in Firestore (app quotas.py);
    the MVP counts in its one instance's memory."""
    return config.stage != "mvp"


def firestore(config: StackConfig, apis: ProjectServices) -> FirestoreDatabase:
    settings = config.firestore
    return FirestoreDatabase(
        "firestore",
        FirestoreDatabaseArgs(
            project=config.gcp.project,
            location_id=settings.location_id or config.gcp.region,
            database_id=settings.database_id,
            point_in_time_recovery=settings.point_in_time_recovery,
            delete_protection=settings.delete_protection,
            backup_retention_days=settings.backup_retention_days,
            ttl=settings.ttl_days is not None,
            quota_ttl=shared_quotas(config),
        ),
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )


def bucket_set(config: StackConfig, apis: ProjectServices) -> BucketSet:
    specs = {
        key: BucketSpec(
            bucket_class=bucket.bucket_class,
            location=bucket.location or config.gcp.region,
            delete_after_days=bucket.effective_delete_after_days,
            retention_days=bucket.effective_retention_days,
            lock_retention=bucket.lock_retention,
            soft_delete_days=bucket.soft_delete_days,
            force_destroy=bucket.force_destroy,
            kms_key=bucket.kms_key,
        )
        for key, bucket in config.buckets.items()
    }
    prefix = f"{config.gcp.project}-{pulumi.get_stack()}-"
    return BucketSet(
        "buckets",
        BucketSetArgs(project=config.gcp.project, buckets=specs, name_prefix=prefix, labels=config.all_labels),
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )


def secret_set(
    config: StackConfig, apis: ProjectServices, secret_ids: list[str], annotations: Mapping[str, Mapping[str, str]] | None = None
) -> SecretSet:
    """The stage's secrets, each with a first version the app starts with (see `initial_secret_value`)."""
    readers = _secret_readers(config)
    return SecretSet(
        "secrets",
        SecretSetArgs(
            project=config.gcp.project,
            secret_ids=secret_ids,
            replica_locations=[config.gcp.region],
            initial_values={
                secret_id: initial_secret_value(readers[secret_id], secret_id) for secret_id in secret_ids if secret_id in readers
            },
            labels=config.all_labels,
            annotations=dict(annotations or {}),
            depends_on=apis.ready,
        ),
        opts=pulumi.ResourceOptions(depends_on=apis.ready),
    )


def _secret_readers(config: StackConfig) -> dict[str, str]:
    """Secret id -> the app variable it is injected as (service.secretEnv, and each partner's key)."""
    readers = {secret: variable for variable, secret in config.service.secret_env.items()}
    if config.partners is not None:
        readers.update({secret: variable for variable, secret in config.partners.secrets.items()})
    return readers


def initial_secret_value(variable: str, secret_id: str) -> str:
    """The first version of a secret read as ``variable``: a key set no key matches, in the form the
    app parses (app/src/chatapp/auth.py, settings.py). The app then starts and answers every keyed
    request with 401 until `gcloud secrets versions add` puts the real keys in.

    - CHAT_API_KEYS: JSON tenant -> key; a digest stands in for a key (`{"no-keys-yet": "sha256:…"}`).
    - CHAT_API_KEY_<TENANT>: one key, here one digest.
    An empty value would not do: the app refuses an empty CHAT_API_KEYS object and an empty
    partner key at startup, so the revision would never become ready.
    """
    digest = no_key_matches(secret_id)
    if variable == "CHAT_API_KEYS":
        return json.dumps({"no-keys-yet": digest})
    if variable.startswith(PARTNER_KEY_PREFIX):
        return digest
    # stagewise/stacks/config/service.py admits only the two API-key forms in secretEnv.
    raise ConfigError(f"stagewise:service.secretEnv.{variable}: no first value is known for it; keep only API-key variables there")


def managed_model(config: StackConfig) -> InferenceEndpoint:
    inference = config.inference
    if not isinstance(inference, ManagedInferenceConfig):
        # Self-hosted modes are composed by the staging/prod stages (stagewise.stacks.inference.inference_endpoint).
        raise ConfigError(
            f"stagewise:inference.mode: {inference.mode!r} is not served by the {config.stage} stage, which calls a "
            "managed model; set mode: managed (self-hosted modes belong to staging/prod)"
        )
    return InferenceEndpoint(
        "inference",
        InferenceEndpointArgs(
            project=config.gcp.project,
            mode=ManagedModel(
                model=inference.model,
                location=inference.location or config.gcp.region,
                fallback_model=inference.fallback_model,
            ),
            labels=config.all_labels,
        ),
    )


@dataclass
class ServiceWiring:
    """What a chat service is connected to; each stage fills in what it has."""

    image: ContainerImage
    database: FirestoreDatabase
    endpoint: InferenceEndpoint
    data_buckets: list[str]
    buckets: BucketSet
    apis: ProjectServices
    secrets: SecretSet
    region: str | None = None
    vpc_egress: VpcEgress | None = None
    traffic: tuple[TrafficSplit, ...] = ()
    ingress: str | None = None
    default_uri_disabled: bool = False
    extra_env: dict[str, pulumi.Input[str]] | None = None
    account_id: str | None = None
    # Other endpoints the service calls (e.g. staging's test VM): granted before the service too.
    also_calls: tuple[InferenceEndpoint, ...] = ()
    # Model Armor screening (stagewise/stacks/guardrails.py): its template via env, roles/modelarmor.user.
    guardrails: Guardrails | None = None


def chat_service(name: str, config: StackConfig, service: ServiceConfig, wiring: ServiceWiring) -> ChatService:
    """A ChatService from a ServiceConfig, granted exactly what it uses."""
    project = config.gcp.project
    grants: list[Grant] = [
        wiring.database.client_role(project),
        # Logs and traces the app writes; no narrower scope exists for these two.
        ProjectRole("roles/logging.logWriter"),
        ProjectRole("roles/cloudtrace.agent"),
    ]
    grants += [BucketRole(wiring.buckets.buckets[key].name, "roles/storage.objectUser", key=key) for key in wiring.data_buckets]
    env: dict[str, pulumi.Input[str]] = {
        "CHAT_STORE": "firestore",
        "CHAT_FIRESTORE_DATABASE": wiring.database.name,
        "GOOGLE_CLOUD_PROJECT": project,
        "CHAT_PROMPT_VERSION": service.prompt_version,
        "CHAT_ALLOW_ANONYMOUS": "true" if service.allow_anonymous else "false",
        "CHAT_LOG_CONTENT": "true" if config.logging.log_content else "false",
        **wiring.endpoint.client_env,
    }
    if service.allowed_prompt_versions:
        env["CHAT_ALLOWED_PROMPT_VERSIONS"] = ",".join(service.allowed_prompt_versions)
    if config.firestore.ttl_days:
        env["CHAT_TTL_DAYS"] = str(config.firestore.ttl_days)
    if wiring.guardrails is not None:
        env.update(wiring.guardrails.client_env)
        grants.append(wiring.guardrails.client_role())
    if shared_quotas(config):  # quotas set in service.env (CHAT_TENANT_*) then hold across instances
        env["CHAT_QUOTA_BACKEND"] = "firestore"
    env.update(service.env)
    env.update(wiring.extra_env or {})
    secret_ids = list(service.secret_env.values())
    ready = [*wiring.apis.ready, *wiring.secrets.ready(secret_ids)]
    if wiring.guardrails is not None:  # the template exists before the first revision screens with it
        ready += wiring.guardrails.ready

    def endpoint_grants(endpoint: InferenceEndpoint) -> GrantHook:
        # Declared before the service (which waits for them), under the names they always had.
        return lambda member, waits: endpoint.authorize(name, member, depends_on=[*waits])

    chat = ChatService(
        name,
        ChatServiceArgs(
            project=project,
            region=wiring.region or config.gcp.region,
            image=wiring.image.ref,
            service_name=service.name,
            ignore_image_changes=service.image.mode == "external" and service.image.ignore_changes,
            min_instances=service.min_instances,
            max_instances=service.max_instances,
            concurrency=service.concurrency,
            cpu=service.cpu,
            memory=service.memory,
            cpu_idle=service.cpu_idle,
            startup_cpu_boost=service.startup_cpu_boost,
            timeout_seconds=service.timeout_seconds,
            ingress=wiring.ingress or service.ingress,
            public=service.public,
            invokers=list(service.invokers),
            deletion_protection=service.deletion_protection,
            default_uri_disabled=wiring.default_uri_disabled,
            env=env,
            secret_env={name: wiring.secrets.ids[secret] for name, secret in service.secret_env.items()},
            grants=grants,
            vpc_egress=wiring.vpc_egress,
            traffic=list(wiring.traffic),
            grant_hooks=[endpoint_grants(endpoint) for endpoint in (wiring.endpoint, *wiring.also_calls)],
            account_id=wiring.account_id,
            labels=config.all_labels,
            # The APIs enabled, every secret it reads holding a version: before the account and the service.
            depends_on=ready,
        ),
    )
    return chat


def error_metric(name: str, config: StackConfig, service: ChatService) -> ErrorLogMetric | None:
    if not config.logging.error_metric:
        return None
    return ErrorLogMetric(name, ErrorLogMetricArgs(project=config.gcp.project, service_name=service.service_name))


def export_services(services: Mapping[str, tuple[ChatService, pulumi.Input[str], str]]) -> None:
    """The `services` output every stage exports in the same shape (Fabric FAST's stage interfaces:
    few outputs, each a map): key -> {url, service_account, member, region}, where ``url`` is where
    clients reach the service (its run.app URL, or prod's domain behind the load balancer) and
    ``member`` is the runtime account as an IAM principal, ready for a binding in another program."""
    pulumi.export("services", {
        key: {"url": url, "service_account": chat.service_account_email, "member": chat.service_account_member, "region": region}
        for key, (chat, url, region) in services.items()
    })
