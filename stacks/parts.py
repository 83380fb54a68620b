"""Composition pieces the staging and prod stages share: inference in any mode, the VPC, releases
(revision tags), persona IAM. Everything that can be wrong in the config is checked by the
`plan_*` functions, which declare nothing, so a stage calls them before its first resource.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stagewise.components.chat_service import ChatService, TrafficSplit, VpcEgress
from stagewise.components.firestore import FirestoreDatabase
from stagewise.components.inference import (
    CloudRunGpu,
    GeminiFallback,
    GpuVmPool,
    InferenceEndpoint,
    InferenceEndpointArgs,
    InferenceMode,
    ManagedModel,
    PrivateNetwork,
    VertexModelGarden,
    WorkingHours,
)
from stagewise.components.vpc import SubnetSpec, VpcNetwork, VpcNetworkArgs
from stagewise.stacks.config import ConfigError, StackConfig
from stagewise.stacks.config.inference import (
    CloudRunGpuInferenceConfig,
    GpuVmInferenceConfig,
    InferenceConfig,
    ManagedInferenceConfig,
    VertexInferenceConfig,
)
from stagewise.stacks.config.network import NetworkConfig
from stagewise.stacks.config.releases import ReleaseConfig


def config_error(stack: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"invalid configuration for stack {stack!r} (Pulumi.{stack}.yaml):\n  - {key}: {message}")


# --- inference ------------------------------------------------------------------------------
@dataclass(frozen=True)
class InferencePlan:
    """A validated inference mode, waiting only for the network's outputs."""

    key: str
    settings: InferenceConfig
    region: str
    needs_network: bool


def plan_inference(config: StackConfig, settings: InferenceConfig, key: str = "stagewise:inference") -> InferencePlan:
    """Cross-checks the mode against the rest of the stack (region, network); declares nothing."""
    stack = pulumi.get_stack()
    if isinstance(settings, ManagedInferenceConfig):
        return InferencePlan(key, settings, settings.location or config.gcp.region, needs_network=False)
    region = settings.region or config.gcp.region
    needs_network = isinstance(settings, GpuVmInferenceConfig) or (
        isinstance(settings, VertexInferenceConfig) and settings.private_endpoint
    )
    if needs_network and config.network is None:
        raise config_error(stack, key, f"mode {settings.mode} runs in the VPC; add stagewise:network with a subnet in {region}")
    if isinstance(settings, GpuVmInferenceConfig) and config.network is not None:
        if region not in config.network.subnets:
            raise config_error(stack, f"{key}.region", f"{region} has no subnet; add stagewise:network.subnets.{region} or move the model")
        if settings.port not in config.network.lb_ports:
            raise config_error(
                stack, f"{key}.port",
                f"{settings.port} is not in stagewise:network.lbPorts, so health checks could not reach the servers; add it there",
            )
    try:
        # The component's own checks, now with the resolved region (e.g. Cloud Run GPU regions).
        _mode(settings, region, config, network=None)
    except ValueError as exc:
        raise config_error(stack, key, str(exc)) from None
    return InferencePlan(key, settings, region, needs_network)


def _fallback(settings: VertexInferenceConfig | GpuVmInferenceConfig | CloudRunGpuInferenceConfig, config: StackConfig) -> GeminiFallback | None:
    if settings.fallback_model is None:
        return None
    return GeminiFallback(model=settings.fallback_model, location=settings.fallback_location or config.gcp.region)


_PLACEHOLDER_NETWORK = PrivateNetwork(network="plan", subnetwork="plan", client_ranges=("10.0.0.0/8",))


def _mode(
    settings: InferenceConfig, region: str, config: StackConfig, network: PrivateNetwork | None,
    private_network: pulumi.Input[str] | None = None, internal_only: bool = True,
) -> InferenceMode:
    if isinstance(settings, ManagedInferenceConfig):
        return ManagedModel(model=settings.model, location=region, fallback_model=settings.fallback_model)
    fallback = _fallback(settings, config)
    if isinstance(settings, VertexInferenceConfig):
        return VertexModelGarden(
            model=settings.model, region=region, machine_type=settings.machine_type,
            accelerator_type=settings.accelerator_type, accelerator_count=settings.accelerator_count,
            min_replicas=settings.min_replicas, max_replicas=settings.max_replicas, accept_eula=settings.accept_eula,
            spot=settings.spot, private_network=private_network if settings.private_endpoint else None,
            served_model_name=settings.served_model_name, fallback=fallback,
        )
    if isinstance(settings, GpuVmInferenceConfig):
        schedule = settings.schedule
        return GpuVmPool(
            model=settings.model, region=region, network=network or _PLACEHOLDER_NETWORK,
            accelerator=settings.accelerator, accelerator_count=settings.accelerator_count,
            machine_type=settings.machine_type, min_replicas=settings.min_replicas, max_replicas=settings.max_replicas,
            zones=tuple(settings.zones), spot=settings.spot, boot_disk_gb=settings.boot_disk_gb,
            server_image=settings.server_image, max_model_len=settings.max_model_len, port=settings.port,
            schedule=WorkingHours(schedule.cron, schedule.duration_hours, schedule.time_zone) if schedule else None,
            served_model_name=settings.served_model_name, hf_token_secret=settings.hf_token_secret, fallback=fallback,
        )
    return CloudRunGpu(
        model=settings.model, region=region, service_name=settings.service_name, cpu=settings.cpu,
        memory=settings.memory, min_instances=settings.min_instances, max_instances=settings.max_instances,
        concurrency=settings.concurrency, gpu_zonal_redundancy=settings.gpu_zonal_redundancy,
        server_image=settings.server_image, max_model_len=settings.max_model_len, internal_only=internal_only,
        deletion_protection=config.stage == "prod", served_model_name=settings.served_model_name,
        hf_token_secret=settings.hf_token_secret, fallback=fallback,
    )


def inference_endpoint(
    name: str, config: StackConfig, plan: InferencePlan, vpc: VpcNetwork | None = None,
    client_regions: Sequence[str] = (), depends_on: Sequence[pulumi.Resource] = (),
) -> InferenceEndpoint:
    """The endpoint of a plan. Self-hosted servers admit only the callers' subnets (``client_regions``)."""
    network: PrivateNetwork | None = None
    private_network: pulumi.Input[str] | None = None
    if vpc is not None and config.network is not None:
        private_network = vpc.network_id
        if plan.region in vpc.subnets:
            ranges = tuple(config.network.subnets[region].cidr for region in (client_regions or [plan.region]))
            network = PrivateNetwork(network=vpc.network_id, subnetwork=vpc.subnets[plan.region].id, client_ranges=ranges)
    # Cloud Run GPU is internal-only when the callers egress through the VPC; else IAM alone guards it.
    internal_only = vpc is not None
    mode = _mode(plan.settings, plan.region, config, network, private_network=private_network, internal_only=internal_only)
    if isinstance(mode, GpuVmPool) and any(region != plan.region for region in client_regions):
        mode = dataclasses.replace(mode, global_access=True)
    if isinstance(mode, CloudRunGpu) and vpc is not None and plan.region in vpc.subnets:
        mode = dataclasses.replace(mode, vpc_egress=vpc.egress(plan.region, all_traffic=True))
    return InferenceEndpoint(
        name,
        InferenceEndpointArgs(project=config.gcp.project, mode=mode, labels=config.all_labels),
        opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
    )


def egress_for(plan: InferencePlan, vpc: VpcNetwork | None, region: str, always_all_traffic: bool = False) -> VpcEgress | None:
    """Direct VPC egress a caller in ``region`` needs to reach the model of ``plan`` (None: none needed)."""
    if vpc is None:
        return None
    if always_all_traffic or isinstance(plan.settings, CloudRunGpuInferenceConfig):
        # An internal-only Cloud Run service counts requests as internal only when they leave through the VPC.
        return vpc.egress(region, all_traffic=True)
    if plan.needs_network:
        return vpc.egress(region, all_traffic=False)
    return None


# --- network --------------------------------------------------------------------------------
def vpc_network(config: StackConfig, settings: NetworkConfig, depends_on: Sequence[pulumi.Resource] = ()) -> VpcNetwork:
    return VpcNetwork(
        "vpc",
        VpcNetworkArgs(
            project=config.gcp.project,
            subnets=[SubnetSpec(region=region, cidr=subnet.cidr) for region, subnet in settings.subnets.items()],
            network_name=settings.name,
            flow_log_sampling=settings.flow_log_sampling,
            flow_log_interval=settings.flow_log_interval,
            nat=settings.nat,
            nat_log_filter=settings.nat_log_filter,
            lb_ports=tuple(settings.lb_ports),
            iap_ssh=settings.iap_ssh,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
    )


# --- releases: two versions side by side ----------------------------------------------------
def revision_suffix(version: str) -> str:
    """A version as a traffic tag (v2.1 -> v2-1): the tag, not the revision name, carries the version."""
    return version.replace(".", "-").replace("_", "-")


def release_traffic(
    service_name: str, release: ReleaseConfig, version: str, region: str | None = None
) -> tuple[TrafficSplit, ...]:
    """The new version on the latest revision and, once it exists, the previous one, each at its own tag URL.

    The previous version is routed by the name of the revision that served it
    (`release.previousRevision`, from the last deploy's `revisions` output): a REVISION traffic
    target must name a revision Cloud Run already has (stagewise/stacks/config/releases.py).
    """
    revision = release.revision_in(region) if release.previous else None
    current = TrafficSplit(percent=100 - release.previous_percent if revision else 100, tag=revision_suffix(version))
    if not release.previous or not revision:
        return (current,)
    if not revision.startswith(f"{service_name}-"):
        raise ValueError(f"release.previousRevision {revision!r} is not a revision of service {service_name!r}")
    previous = TrafficSplit(percent=release.previous_percent, revision=revision, tag=revision_suffix(release.previous))
    return (current, previous)


# --- personas -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonaTargets:
    """Resources the personas get roles on (resource-level wherever GCP allows), each by a stable key."""

    services: Mapping[str, ChatService]
    partner_service: ChatService | None
    analytics_buckets: Mapping[str, pulumi.Input[str]]
    all_buckets: Mapping[str, pulumi.Input[str]]
    partner_secrets: Mapping[str, pulumi.Input[str]]
    region: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class PersonaAccess(pulumi.ComponentResource):
    """Developers, analysts, partners and admins, each mapped to predefined roles on the narrowest resource.

    - developers: deploy and read the services (run.developer on each service, and actAs —
      iam.serviceAccountUser — on each service's own runtime account only, which deploying a
      revision that runs as that account requires:
      https://docs.cloud.google.com/run/docs/configuring/services/service-identity), read logs and metrics.
    - analysts: read the analytics bucket (objectViewer on that bucket only), read metrics.
    - partners: invoke the partner service only — run.invoker on it, declared by that ChatService's
      invoker list (so the binding lives next to the service it opens).
    - admins: administer the services (with actAs on their runtime accounts), buckets and partner
      secrets on those resources, manage log routing and alerting at project level. No basic roles
      (owner/editor/viewer) for anyone.

    Bindings are named by persona, target and member, never by list position, so adding or removing
    a member renames (and so replaces) no other binding; each keeps its former positional name as
    an alias.
    """

    def __init__(
        self, name: str, project: pulumi.Input[str], members: Mapping[str, Sequence[str]], targets: PersonaTargets,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("stagewise:index:PersonaAccess", name, None, opts)
        self.bindings: list[pulumi.CustomResource] = []
        services = dict(targets.services)
        if targets.partner_service is not None:
            services["partners"] = targets.partner_service

        def opts_for(old_name: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old_name)])

        def on_service(persona: str, key: str, service: ChatService, role: str, member: str, index: int) -> None:
            role_slug = role.rsplit(".", 1)[-1].lower()
            self.bindings.append(
                gcp.cloudrunv2.ServiceIamMember(
                    f"{name}-{persona}-{key}-{role_slug}-{_slug(member)}",
                    project=project, location=targets.region, name=service.service_name, role=role, member=member,
                    opts=opts_for(f"{name}-{persona}-{key}-{role_slug}-{index}"),
                )
            )

        def act_as(persona: str, key: str, service: ChatService, member: str, index: int) -> None:
            # Deploying a revision acts as the service's account: allowed on that account only, not project-wide.
            self.bindings.append(
                gcp.serviceaccount.IAMMember(
                    f"{name}-{persona}-{key}-sa-user-{_slug(member)}",
                    service_account_id=service.service_account.name,
                    role="roles/iam.serviceAccountUser",
                    member=member,
                    opts=opts_for(f"{name}-{persona}-{key}-sa-user-{index}"),
                )
            )

        def on_project(persona: str, role: str, member: str, index: int) -> None:
            role_slug = role.rsplit("/", 1)[-1].replace(".", "-")
            self.bindings.append(
                gcp.projects.IAMMember(
                    f"{name}-{persona}-{role_slug}-{_slug(member)}",
                    project=project, role=role, member=member, opts=opts_for(f"{name}-{persona}-{role_slug}-{index}"),
                )
            )

        def on_buckets(persona: str, buckets: Mapping[str, pulumi.Input[str]], role: str, member: str, index: int) -> None:
            role_slug = role.rsplit(".", 1)[-1].lower()
            for bucket_index, (key, bucket) in enumerate(buckets.items()):
                self.bindings.append(
                    gcp.storage.BucketIAMMember(
                        f"{name}-{persona}-{key}-{role_slug}-{_slug(member)}",
                        bucket=bucket, role=role, member=member,
                        opts=opts_for(f"{name}-{persona}-bucket{bucket_index}-{role_slug}-{index}"),
                    )
                )

        for index, member in enumerate(members.get("developers", ())):
            for key, service in services.items():
                on_service("developers", key, service, "roles/run.developer", member, index)
                act_as("developers", key, service, member, index)
            on_project("developers", "roles/logging.viewer", member, index)
            on_project("developers", "roles/monitoring.viewer", member, index)
        for index, member in enumerate(members.get("analysts", ())):
            on_buckets("analysts", targets.analytics_buckets, "roles/storage.objectViewer", member, index)
            on_project("analysts", "roles/monitoring.viewer", member, index)
        for index, member in enumerate(members.get("admins", ())):
            for key, service in services.items():
                on_service("admins", key, service, "roles/run.admin", member, index)
                act_as("admins", key, service, member, index)
            on_buckets("admins", targets.all_buckets, "roles/storage.admin", member, index)
            for secret_index, (secret_key, secret) in enumerate(targets.partner_secrets.items()):
                self.bindings.append(
                    gcp.secretmanager.SecretIamMember(
                        f"{name}-admins-{secret_key}-admin-{_slug(member)}",
                        project=project, secret_id=secret, role="roles/secretmanager.admin", member=member,
                        opts=opts_for(f"{name}-admins-secret{secret_index}-admin-{index}"),
                    )
                )
            on_project("admins", "roles/logging.configWriter", member, index)
            on_project("admins", "roles/monitoring.editor", member, index)
        self.register_outputs({"bindings": len(self.bindings)})


# --- backups --------------------------------------------------------------------------------
# What the account starting a Firestore export holds on the destination bucket (export docs above).
EXPORT_CALLER_BUCKET_ROLE = "roles/storage.admin"


class FirestoreExport(pulumi.ComponentResource):
    """A scheduled export of the Firestore database into the backups bucket.

    Firestore's own backup schedule keeps copies inside Firestore; this export puts a copy in the
    `backups` bucket (retained a year, seed stage 3), readable and restorable independently.
    Cloud Scheduler calls `exportDocuments` as a dedicated account that may only export this
    database. Each run lands under its own timestamped prefix (the output URI is the bare bucket),
    and the bucket's lifecycle deletes each export the day after its retention ends
    (stagewise/components/buckets.py), so a locked bucket does not keep every export forever.

    Who needs what (https://cloud.google.com/firestore/docs/manage-data/export-import, "Before you
    begin" and "Service agent permissions"): the account that starts the export needs a Firestore
    export role and a Cloud Storage role on the bucket (the page lists Storage Admin); the Firestore
    service agent performs the Cloud Storage writes. Both are granted on the backups bucket only.
    """

    def __init__(
        self, name: str, project: pulumi.Input[str], region: str, database: FirestoreDatabase,
        bucket: pulumi.Input[str], schedule: str = "0 3 * * *", opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("stagewise:index:FirestoreExport", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-sa", project=project, account_id="firestore-export",
            display_name="Firestore export job", description="Starts exports of the chat database; nothing else.",
            opts=child,
        )
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        condition = database.client_role(str(project)).condition_expression
        # Export only: the predefined importExportAdmin would also allow imports, which overwrite data.
        role_id = "firestoreExporter"
        role = gcp.projects.IAMCustomRole(
            f"{name}-role", project=project, role_id=role_id, title="Firestore exporter",
            description="Start and follow Firestore exports; no import, no data access.",
            permissions=["datastore.databases.export", "datastore.databases.getMetadata", "datastore.operations.get"],
            opts=child,
        )
        # The role by its name, known before the custom role exists (`pulumi preview` can then check
        # the grant), with an explicit dependency so it is granted only once the role is there.
        role_name = pulumi.Output.from_input(project).apply(lambda p: f"projects/{p}/roles/{role_id}")
        grant = gcp.projects.IAMMember(
            f"{name}-exporter", project=project, role=role_name, member=member,
            condition=gcp.projects.IAMMemberConditionArgs(title="only-chat-database", expression=condition or "true"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role]),
        )
        agent = gcp.projects.ServiceIdentity(
            f"{name}-firestore-agent", project=project, service="firestore.googleapis.com", opts=child
        )
        writer = gcp.storage.BucketIAMMember(
            f"{name}-agent-writer", bucket=bucket, role="roles/storage.objectAdmin",
            member=agent.email.apply(lambda email: f"serviceAccount:{email}"), opts=child,
        )
        # The caller's Cloud Storage role, on this bucket only: the locked retention policy still
        # keeps it from deleting or replacing any export, or shortening the retention.
        caller = gcp.storage.BucketIAMMember(
            f"{name}-caller-bucket", bucket=bucket, role=EXPORT_CALLER_BUCKET_ROLE, member=member,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        body = pulumi.Output.from_input(bucket).apply(
            lambda name_: base64.b64encode(json.dumps({"outputUriPrefix": f"gs://{name_}"}).encode()).decode()
        )
        self.job = gcp.cloudscheduler.Job(
            f"{name}-job",
            project=project,
            region=region,
            description="export the chat database to the backups bucket",
            schedule=schedule,
            time_zone="Etc/UTC",
            attempt_deadline="320s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                http_method="POST",
                uri=pulumi.Output.concat(
                    "https://firestore.googleapis.com/v1/projects/", project, "/databases/", database.name, ":exportDocuments"
                ),
                body=body,
                headers={"Content-Type": "application/json"},
                oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                    service_account_email=account.email, scope="https://www.googleapis.com/auth/cloud-platform"
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant, writer, caller]),
        )
        self.register_outputs({"job": self.job.name})
