"""ChatService: the chat backend as a Cloud Run v2 service running as its own service account."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.cloudrunv2 import (
    ServiceScalingArgs,
    ServiceTemplateArgs,
    ServiceTemplateContainerArgs,
    ServiceTemplateContainerEnvArgs,
    ServiceTemplateContainerEnvValueSourceArgs,
    ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs,
    ServiceTemplateContainerLivenessProbeArgs,
    ServiceTemplateContainerLivenessProbeHttpGetArgs,
    ServiceTemplateContainerPortsArgs,
    ServiceTemplateContainerReadinessProbeArgs,
    ServiceTemplateContainerReadinessProbeHttpGetArgs,
    ServiceTemplateContainerResourcesArgs,
    ServiceTemplateContainerStartupProbeArgs,
    ServiceTemplateContainerStartupProbeHttpGetArgs,
    ServiceTemplateScalingArgs,
    ServiceTemplateVpcAccessArgs,
    ServiceTemplateVpcAccessNetworkInterfaceArgs,
    ServiceTrafficArgs,
)

from stagewise.components.iam import Grant, SecretRole, declare_grants
from stagewise.components.limits import HEALTH_PATH

INGRESS = {
    "all": "INGRESS_TRAFFIC_ALL",
    "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
    "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
}
CONTAINER_PORT = 8080
# Not /healthz and /readyz: Cloud Run reserves some URL paths ending in `z`, and a request to one
# never reaches the container (https://cloud.google.com/run/docs/known-issues, "Reserved URL
# paths"). The app serves both spellings; probes and the uptime check use these (HEALTH_PATH,
# /health, lives in components/limits.py, which the config reads without pulumi_gcp).
READY_PATH = "/ready"

# Grants a service needs that live outside it (e.g. the model endpoint's invoker role): called with
# the service account's member and what to wait for; returns the declared grants.
GrantHook = Callable[[pulumi.Output[str], Sequence[pulumi.Resource]], Sequence[pulumi.Resource]]


@dataclass(frozen=True)
class VpcEgress:
    """Direct VPC egress: the service's outbound traffic leaves through this subnet."""

    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    all_traffic: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrafficSplit:
    """A share of traffic for a revision (or the latest one) and its tag URL."""

    percent: int
    revision: str | None = None
    tag: str | None = None


@dataclass
class ChatServiceArgs:
    project: pulumi.Input[str]
    region: str
    image: pulumi.Input[str]
    service_name: str = "chat"
    ignore_image_changes: bool = False
    min_instances: int = 0
    max_instances: int = 3
    concurrency: int = 80
    cpu: str = "1"
    memory: str = "512Mi"
    cpu_idle: bool = True
    startup_cpu_boost: bool = True
    timeout_seconds: int = 300
    ingress: str = "all"
    public: bool = False
    invokers: list[str] = field(default_factory=list)
    deletion_protection: bool = True
    default_uri_disabled: bool = False
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    vpc_egress: VpcEgress | None = None
    traffic: list[TrafficSplit] = field(default_factory=list)
    # Grants declared elsewhere (the model endpoint's) that the service needs before its first revision.
    grant_hooks: list[GrantHook] = field(default_factory=list)
    # A readiness probe: Cloud Run service health aggregates it per region, which a load balancer's
    # serverless NEGs use to fail over to another region (and unready instances get no requests).
    readiness_probe: bool = True
    # Service account id (6-30 chars); default "<service_name>-run". Set it when one service name runs in several regions.
    account_id: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ingress not in INGRESS:
            raise ValueError(f"ingress {self.ingress!r}: use one of {', '.join(INGRESS)}")
        if self.max_instances < self.min_instances:
            raise ValueError("max_instances is below min_instances; raise max_instances")
        if self.public and self.invokers:
            raise ValueError("public services need no invokers list; drop one of them")
        if self.traffic and sum(split.percent for split in self.traffic) != 100:
            raise ValueError("traffic percentages must add up to 100")


def member_slug(member: str) -> str:
    """A logical-name part from an IAM member: group:Dev-Team@example.com -> group-dev-team-example-com."""
    return re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")


class ChatService(pulumi.ComponentResource):
    """Cloud Run v2 service + dedicated service account + its grants and invoker policy."""

    def __init__(self, name: str, args: ChatServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ChatService", name, None, opts)
        # A component's depends_on does not reach its children: each child waits for it itself
        # (e.g. the APIs being enabled, the secrets having a version).
        waits = list(args.depends_on)

        self.service_account = gcp.serviceaccount.Account(
            f"{name}-sa",
            project=args.project,
            account_id=args.account_id or f"{args.service_name}-run"[:30],
            display_name=f"Cloud Run service {args.service_name}",
            description="Runs the chat backend; holds only the roles its caller granted.",
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
        # The account as an IAM principal (serviceAccount:EMAIL): the provider's own `member` output
        # (https://www.pulumi.com/registry/packages/gcp/api-docs/serviceaccount/account/, Outputs).
        member = self.service_account.member
        secret_grants: list[Grant] = [SecretRole(secret_id) for secret_id in dict.fromkeys(args.secret_env.values())]
        self.grants: list[pulumi.Resource] = [
            *declare_grants(
                f"{name}-sa", member, [*args.grants, *secret_grants], args.project, self, [self.service_account, *waits]
            )
        ]
        # Cloud Run checks at deployment that the service account may read every secret, and the
        # first revision calls the model: every grant exists before the service is created
        # (https://cloud.google.com/run/docs/configuring/secrets).
        for hook in args.grant_hooks:
            self.grants.extend(hook(member, [self.service_account, *waits]))

        self.service = gcp.cloudrunv2.Service(
            name,
            name=args.service_name,
            project=args.project,
            location=args.region,
            ingress=INGRESS[args.ingress],
            deletion_protection=args.deletion_protection,
            default_uri_disabled=args.default_uri_disabled or None,
            # A public service turns the invoker check off instead of binding allUsers: organisations
            # with domain-restricted sharing (enforced by default since May 2024) refuse allUsers,
            # and Google recommends this setting there
            # (https://cloud.google.com/run/docs/authenticating/public,
            # https://cloud.google.com/resource-manager/docs/secure-by-default-organizations).
            invoker_iam_disabled=args.public,
            labels=dict(args.labels),
            scaling=ServiceScalingArgs(min_instance_count=args.min_instances),
            template=self._template(args),
            traffics=self._traffic(args.traffic),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*self.grants, *waits],
                ignore_changes=["template.containers[0].image"] if args.ignore_image_changes else None,
            ),
        )

        invoker_members = [] if args.public else list(dict.fromkeys(args.invokers))
        # Named by member, not list position: adding or removing one renames (and so replaces) no
        # other binding. The alias adopts a binding declared under its old positional name.
        self.invokers = [
            gcp.cloudrunv2.ServiceIamMember(
                f"{name}-invoker-{member_slug(invoker)}",
                project=args.project,
                location=args.region,
                name=self.service.name,
                role="roles/run.invoker",
                member=invoker,
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-invoker-{index}")]),
            )
            for index, invoker in enumerate(invoker_members)
        ]

        self.uri: pulumi.Output[str] = self.service.uri
        self.service_name: pulumi.Output[str] = self.service.name
        self.service_account_email: pulumi.Output[str] = self.service_account.email
        # serviceAccount:EMAIL, ready for a binding elsewhere (Fabric's service_account_iam_email).
        self.service_account_member: pulumi.Output[str] = self.service_account.member
        # The short name (chat-00003-abc) a later release names as its previous revision.
        self.latest_revision: pulumi.Output[str] = self.service.latest_ready_revision.apply(
            lambda revision: (revision or "").rsplit("/", 1)[-1]
        )
        self.register_outputs(
            {"uri": self.uri, "service_name": self.service_name, "service_account_email": self.service_account_email,
             "service_account_member": self.service_account_member, "latest_revision": self.latest_revision}
        )

    def _template(self, args: ChatServiceArgs) -> ServiceTemplateArgs:
        envs = [ServiceTemplateContainerEnvArgs(name=key, value=value) for key, value in sorted(args.env.items())]
        envs += [
            ServiceTemplateContainerEnvArgs(
                name=key,
                value_source=ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(secret=secret, version="latest")
                ),
            )
            for key, secret in sorted(args.secret_env.items())
        ]
        container = ServiceTemplateContainerArgs(
            image=args.image,
            ports=ServiceTemplateContainerPortsArgs(container_port=CONTAINER_PORT, name="http1"),
            envs=envs,
            resources=ServiceTemplateContainerResourcesArgs(
                limits={"cpu": args.cpu, "memory": args.memory},
                cpu_idle=args.cpu_idle,
                startup_cpu_boost=args.startup_cpu_boost,
            ),
            startup_probe=ServiceTemplateContainerStartupProbeArgs(
                http_get=ServiceTemplateContainerStartupProbeHttpGetArgs(path=READY_PATH, port=CONTAINER_PORT),
                # 48 x 5 s = 240 s, the most a service's startup probe may span
                # (https://cloud.google.com/run/docs/configuring/healthchecks): a first instance can
                # wait on IAM grants made seconds before (propagation takes minutes,
                # https://cloud.google.com/iam/docs/access-change-propagation) and Direct VPC egress
                # can delay connections a minute or more at start-up
                # (https://cloud.google.com/run/docs/configuring/vpc-direct-vpc). The timeout stays
                # above /ready's own 3 s store check.
                initial_delay_seconds=0,
                period_seconds=5,
                timeout_seconds=4,
                failure_threshold=48,
            ),
            liveness_probe=ServiceTemplateContainerLivenessProbeArgs(
                http_get=ServiceTemplateContainerLivenessProbeHttpGetArgs(path=HEALTH_PATH, port=CONTAINER_PORT),
                period_seconds=30,
                timeout_seconds=3,
                failure_threshold=3,
            ),
            # Service health: a region is healthy while >= 60 % of its instances pass this probe
            # (https://docs.cloud.google.com/run/docs/configuring/configure-service-health). The
            # app's ready path turns 503 while draining or when the store is unreachable.
            readiness_probe=ServiceTemplateContainerReadinessProbeArgs(
                http_get=ServiceTemplateContainerReadinessProbeHttpGetArgs(path=READY_PATH, port=CONTAINER_PORT),
                period_seconds=10,
                timeout_seconds=4,
                failure_threshold=3,
                success_threshold=1,
            ) if args.readiness_probe else None,
        )
        vpc_access = None
        if args.vpc_egress is not None:
            vpc_access = ServiceTemplateVpcAccessArgs(
                egress="ALL_TRAFFIC" if args.vpc_egress.all_traffic else "PRIVATE_RANGES_ONLY",
                network_interfaces=[
                    ServiceTemplateVpcAccessNetworkInterfaceArgs(
                        network=args.vpc_egress.network,
                        subnetwork=args.vpc_egress.subnetwork,
                        tags=list(args.vpc_egress.tags) or None,
                    )
                ],
            )
        return ServiceTemplateArgs(
            service_account=self.service_account.email,
            containers=[container],
            max_instance_request_concurrency=args.concurrency,
            timeout=f"{args.timeout_seconds}s",
            scaling=ServiceTemplateScalingArgs(
                min_instance_count=args.min_instances, max_instance_count=args.max_instances
            ),
            execution_environment="EXECUTION_ENVIRONMENT_GEN2",
            vpc_access=vpc_access,
            # No fixed revision name: Cloud Run names each revision; a fixed one would be reused by the
            # next template change and refused with 409 (terraform-provider-google#14569). The
            # version a revision serves is carried by its traffic tag.
            labels=dict(args.labels),
        )

    @staticmethod
    def _traffic(splits: list[TrafficSplit]) -> list[ServiceTrafficArgs] | None:
        if not splits:
            return None
        return [
            ServiceTrafficArgs(
                type="TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION" if split.revision else "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                revision=split.revision,
                percent=split.percent,
                tag=split.tag,
            )
            for split in splits
        ]
