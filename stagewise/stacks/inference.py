"""The model a stage calls, in any inference mode: `plan_inference` checks the config (declaring
nothing, so a stage calls it before its first resource), `inference_endpoint` declares it once the
network exists, `egress_for` says how a caller in a region reaches it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from stagewise.components.chat_service import VpcEgress
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
from stagewise.components.vpc import VpcNetwork
from stagewise.stacks.config import StackConfig, config_error
from stagewise.stacks.config.inference import (
    CloudRunGpuInferenceConfig,
    GpuVmInferenceConfig,
    InferenceConfig,
    ManagedInferenceConfig,
    VertexInferenceConfig,
)


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
