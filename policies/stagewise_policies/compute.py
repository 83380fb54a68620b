"""Compute, GPU and Vertex AI: VMs and instance templates, managed instance groups, endpoints."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import config_int, config_list, flag, get, items, mapping, number, text

# Machine families that come with GPUs attached (no guest_accelerators block).
GPU_FAMILIES = ("a2-", "a3-", "a4-", "g2-", "g4-")


def machine_type(resource: Resource) -> str:
    # Instances take a name or a URL (zones/…/machineTypes/e2-small); keep the last segment.
    return text(resource.props, "machineType").rsplit("/", 1)[-1]


def accelerators(resource: Resource) -> list[tuple[str, float]]:
    """(type, count) of a VM's or template's guest accelerators."""
    found: list[tuple[str, float]] = []
    for accelerator in items(get(resource.props, "guestAccelerators")):
        found.append((text(accelerator, "type").rsplit("/", 1)[-1], number(accelerator, "count") or 0.0))
    return found


def has_gpu(resource: Resource) -> bool:
    return bool(accelerators(resource)) or machine_type(resource).startswith(GPU_FAMILIES)


def _metadata(resource: Resource) -> dict[str, str]:
    return {key.lower(): str(value).lower() for key, value in mapping(get(resource.props, "metadata")).items()}


@resource_rule(
    "compute-shielded-vm",
    family="compute",
    description="VMs and templates use Shielded VM with Secure Boot, vTPM and integrity monitoring.",
    severity=Severity.MEDIUM,
    remediation="Set shielded_instance_config(enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True) on a Shielded VM image.",
    types=t.VM_LIKE,
    anchor="CKV_GCP_39, CKV_GCP_45",
)
def shielded_vm(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    shielded = get(resource.props, "shieldedInstanceConfig")
    # Provider defaults: vTPM and integrity monitoring on, Secure Boot off.
    checks = {
        "enableSecureBoot": flag(shielded, "enableSecureBoot", default=False),
        "enableVtpm": flag(shielded, "enableVtpm", default=True),
        "enableIntegrityMonitoring": flag(shielded, "enableIntegrityMonitoring", default=True),
    }
    off = [key for key, value in checks.items() if value is not True]
    if off:
        yield Finding(f"Shielded VM settings off: {', '.join(off)}", "enable them in shielded_instance_config")


@resource_rule(
    "compute-os-login",
    family="compute",
    description="VMs use OS Login (metadata enable-oslogin=TRUE), so SSH access follows IAM.",
    severity=Severity.MEDIUM,
    remediation='Set metadata={"enable-oslogin": "TRUE"} (or enable it project-wide).',
    types=t.VM_LIKE,
    anchor="CKV_GCP_34",
)
def os_login(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _metadata(resource).get("enable-oslogin") != "true":
        yield Finding("OS Login is not enabled", 'set metadata enable-oslogin to "TRUE"')


@resource_rule(
    "compute-block-project-ssh-keys",
    family="compute",
    description="VMs block project-wide SSH keys (metadata block-project-ssh-keys=TRUE).",
    severity=Severity.MEDIUM,
    remediation='Set metadata={"block-project-ssh-keys": "TRUE"}.',
    types=t.VM_LIKE,
    anchor="CKV_GCP_32",
)
def block_project_ssh_keys(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _metadata(resource).get("block-project-ssh-keys") != "true":
        yield Finding("project-wide SSH keys can log in", 'set metadata block-project-ssh-keys to "TRUE"')


@resource_rule(
    "compute-no-serial-port",
    family="compute",
    description="Interactive serial port access is off.",
    severity=Severity.MEDIUM,
    remediation='Remove metadata serial-port-enable (or set it to "FALSE").',
    types=t.VM_LIKE,
    anchor="CKV_GCP_35",
)
def no_serial_port(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _metadata(resource).get("serial-port-enable") in ("true", "1"):
        yield Finding("the interactive serial port is enabled", "remove metadata serial-port-enable")


@resource_rule(
    "compute-no-ip-forwarding",
    family="compute",
    description="VMs do not forward IP packets (can_ip_forward off).",
    severity=Severity.MEDIUM,
    remediation="Set can_ip_forward=False; routing belongs to Cloud NAT and routers.",
    types=t.VM_LIKE,
    anchor="CKV_GCP_36",
)
def no_ip_forwarding(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "canIpForward") is True:
        yield Finding("IP forwarding is on", "set can_ip_forward=False")


@resource_rule(
    "compute-no-external-ip",
    family="compute",
    description="VMs and templates have no external IP (egress through Cloud NAT, ingress through the load balancer or IAP).",
    severity=Severity.HIGH,
    remediation="Remove access_configs from the network interfaces; add Cloud NAT for egress.",
    types=t.VM_LIKE,
    anchor="CKV_GCP_40",
)
def no_external_ip(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for index, interface in enumerate(items(get(resource.props, "networkInterfaces"))):
        if items(get(interface, "accessConfigs")) or items(get(interface, "ipv6AccessConfigs")):
            yield Finding(f"network interface {index} has an external IP", "remove its access_configs")


@resource_rule(
    "compute-gpu-terminate-on-maintenance",
    family="compute",
    description="GPU VMs terminate on host maintenance (GPUs cannot live-migrate) and restart automatically.",
    severity=Severity.HIGH,
    remediation='Set scheduling=...SchedulingArgs(on_host_maintenance="TERMINATE", automatic_restart=True).',
    types=t.VM_LIKE,
)
def gpu_terminate_on_maintenance(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if has_gpu(resource) and text(resource.props, "scheduling.onHostMaintenance") != "TERMINATE":
        yield Finding("a GPU VM does not set on_host_maintenance=TERMINATE", 'set scheduling.on_host_maintenance="TERMINATE"')


@resource_rule(
    "compute-machine-type-allowlist",
    family="compute",
    description="VMs, templates and Vertex deployments use an allowed machine type (glob patterns per stage).",
    severity=Severity.MEDIUM,
    remediation="Pick a machine type matching allowedMachineTypes, or extend the stage's list with a reason.",
    types=[*t.VM_LIKE, t.VERTEX_MODEL_GARDEN],
    params={"allowedMachineTypes": {"type": "array", "items": {"type": "string"},
                                    "default": ["e2-*", "n2-standard-*", "n2d-standard-*", "g2-standard-*"],
                                    "description": "glob patterns of allowed machine types"}},
)
def machine_type_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    patterns = config_list(config, "allowedMachineTypes")
    if resource.type == t.VERTEX_MODEL_GARDEN:
        kind = text(resource.props, "deployConfig.dedicatedResources.machineSpec.machineType")
    else:
        kind = machine_type(resource)
    if kind and not any(fnmatch.fnmatch(kind, pattern) for pattern in patterns):
        yield Finding(f"machine type {kind} is not allowed in this stage", f"use one matching {', '.join(patterns)}")


def accelerator_requests(resource: Resource) -> list[tuple[str, float]]:
    """(accelerator type, count per instance/replica) a resource asks for."""
    if resource.type == t.VERTEX_MODEL_GARDEN:
        spec = get(resource.props, "deployConfig.dedicatedResources.machineSpec")
        kind = text(spec, "acceleratorType")
        return [(kind.lower().replace("_", "-"), number(spec, "acceleratorCount") or 0.0)] if kind else []
    if resource.type == t.RUN_SERVICE:
        kind = text(resource.props, "template.nodeSelector.accelerator")
        count = 0.0
        for container in items(get(resource.props, "template.containers")):
            # Not a dotted path: the limit's key itself contains dots.
            count += number(mapping(get(container, "resources.limits")).get("nvidia.com/gpu")) or 0.0
        return [(kind or "nvidia-l4", count)] if kind or count else []
    return [(kind.lower(), count) for kind, count in accelerators(resource)]


@resource_rule(
    "compute-accelerator-allowlist",
    family="compute",
    description="GPUs are of an allowed type and at most maxPerInstance per VM, replica or Cloud Run instance.",
    severity=Severity.HIGH,
    remediation="Use an allowed accelerator (e.g. nvidia-l4) and no more than the per-instance cap.",
    types=[*t.VM_LIKE, t.VERTEX_MODEL_GARDEN, t.RUN_SERVICE],
    params={
        "allowedAccelerators": {"type": "array", "items": {"type": "string"}, "default": ["nvidia-l4"],
                                "description": "accelerator types (lowercase, dashes: nvidia-l4, nvidia-tesla-t4)"},
        "maxPerInstance": {"type": "integer", "minimum": 0, "default": 1, "description": "GPUs per VM/replica/instance"},
    },
)
def accelerator_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = {kind.lower() for kind in config_list(config, "allowedAccelerators")}
    cap = config_int(config, "maxPerInstance")
    for kind, count in accelerator_requests(resource):
        if kind not in allowed:
            yield Finding(f"accelerator {kind} is not allowed", f"use one of {', '.join(sorted(allowed)) or '(none allowed)'}")
        if count > cap:
            yield Finding(f"{count:g} GPUs per instance exceed the cap of {cap}", f"request at most {cap}")


@resource_rule(
    "compute-mig-autohealing",
    family="compute",
    description="Managed instance groups auto-heal from a health check.",
    severity=Severity.MEDIUM,
    remediation="Set auto_healing_policies(health_check=<health check>.id, initial_delay_sec=300).",
    types=t.MIGS,
)
def mig_autohealing(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    policies = items(get(resource.props, "autoHealingPolicies"))
    if not any(text(policy, "healthCheck") for policy in policies):
        yield Finding("no auto-healing health check", "set auto_healing_policies.health_check")


@resource_rule(
    "vertex-endpoint-private",
    family="compute",
    description="Vertex AI endpoints are private (VPC peering network or Private Service Connect), not on the public API surface.",
    severity=Severity.MEDIUM,
    remediation="Set network (VPC peering) or private_service_connect_config on the endpoint (endpoint_config for Model Garden deployments).",
    types=[t.VERTEX_ENDPOINT, t.VERTEX_MODEL_GARDEN],
)
def vertex_endpoint_private(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    props = resource.props
    if resource.type == t.VERTEX_ENDPOINT:
        private = bool(text(props, "network")) or flag(props, "privateServiceConnectConfig.enablePrivateServiceConnect") is True
    else:
        private = flag(props, "endpointConfig.privateServiceConnectConfig.enablePrivateServiceConnect") is True
    if not private:
        yield Finding("the endpoint is reachable on the public Vertex AI API", "make it private with a network or Private Service Connect")
