"""Compute, GPU and Vertex AI: VMs, instance templates, VMs from templates, project metadata,
managed instance groups, disks and endpoints.

Rules reason about what GCP runs, not how the program spelled it: an accelerator-optimized machine
type carries its GPUs without a guest_accelerators block, a VM made from a template (InstanceFromTemplate)
takes whatever it does not set from that template, and project metadata applies to every VM.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule
from .props import config_int, config_list, flag, get, items, mapping, number, text

# Accelerator-optimized machine types come with their GPUs attached: "Each machine type within a
# series has a specific model and number of NVIDIA GPUs attached"
# (https://cloud.google.com/compute/docs/accelerator-optimized-machines). The GPU model of each series
# (https://cloud.google.com/compute/docs/gpus/about-gpus): A2 Standard A100 40GB, A2 Ultra A100 80GB,
# A3 High/Edge H100 80GB, A3 Mega H100 Mega, A3 Ultra H200, A4 B200, G2 L4, G4 RTX PRO 6000.
# A and A4 types name their GPU count (a2-highgpu-4g: 4); G2 counts come from the G2 table
# (https://cloud.google.com/compute/docs/gpus); a count we cannot read is taken as 1 (a lower bound).
MACHINE_ACCELERATORS: tuple[tuple[str, str], ...] = (
    ("a2-ultragpu-", "nvidia-a100-80gb"),
    ("a2-highgpu-", "nvidia-tesla-a100"),
    ("a2-megagpu-", "nvidia-tesla-a100"),
    ("a3-ultragpu-", "nvidia-h200-141gb"),
    ("a3-megagpu-", "nvidia-h100-mega-80gb"),
    ("a3-highgpu-", "nvidia-h100-80gb"),
    ("a3-edgegpu-", "nvidia-h100-80gb"),
    ("a4x-", "nvidia-gb200"),
    ("a4-", "nvidia-b200"),
    ("g4-", "nvidia-rtx-pro-6000"),
    ("g2-", "nvidia-l4"),
)
G2_GPUS: Mapping[str, int] = {
    "g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1, "g2-standard-32": 1,
    "g2-standard-24": 2, "g2-standard-48": 4, "g2-standard-96": 8,
}
GPU_FAMILIES = tuple(prefix for prefix, _ in MACHINE_ACCELERATORS)
_GPU_COUNT_SUFFIX = re.compile(r"-(\d+)g$")
TRUE_VALUES = ("true", "1")
# Cloud Run's GPU type annotation (v1) and node selector (v2): https://cloud.google.com/run/docs/configuring/services/gpu
RUN_V1_ACCELERATOR = "run.googleapis.com/accelerator"
GPU_LIMIT = "nvidia.com/gpu"


def machine_type(resource: Resource) -> str:
    # Instances take a name or a URL (zones/…/machineTypes/e2-small); keep the last segment.
    return text(resource.props, "machineType").rsplit("/", 1)[-1]


def machine_gpus(kind: str) -> tuple[str, float] | None:
    """(accelerator, count) that come with an accelerator-optimized machine type; None for others."""
    for prefix, accelerator in MACHINE_ACCELERATORS:
        if kind.startswith(prefix):
            if kind in G2_GPUS:
                return accelerator, float(G2_GPUS[kind])
            match = _GPU_COUNT_SUFFIX.search(kind)
            return accelerator, float(match.group(1)) if match else 1.0
    return None


def accelerators(resource: Resource) -> list[tuple[str, float]]:
    """(type, count) of the GPUs a VM or template has: its guest accelerators, or the ones its machine type carries."""
    found: list[tuple[str, float]] = []
    for accelerator in items(get(resource.props, "guestAccelerators")):
        count = number(accelerator, "count") or 0.0
        if count:
            found.append((text(accelerator, "type").rsplit("/", 1)[-1].lower(), count))
    implied = machine_gpus(machine_type(resource))
    if implied and not found:
        found.append(implied)
    return found


def has_gpu(resource: Resource) -> bool:
    return bool(accelerators(resource))


def inherits(resource: Resource, key: str) -> bool:
    """A VM made from a template that does not set ``key`` gets it from the template (checked there)."""
    return resource.type == t.INSTANCE_FROM_TEMPLATE and get(resource.props, key) is None


def _metadata(resource: Resource) -> dict[str, str]:
    """Metadata as GCP applies it: a VM's or template's map, ProjectMetadata's map, or one ProjectMetadataItem."""
    if resource.type == t.PROJECT_METADATA_ITEM:
        key = text(resource.props, "key")
        return {key.lower(): text(resource.props, "value").lower()} if key else {}
    return {key.lower(): str(value).lower() for key, value in mapping(get(resource.props, "metadata")).items()}


VM_TEXT = "VMs, instance templates and VMs from templates"
VM_AND_PROJECT_TEXT = "VMs, instance templates, VMs from templates and project metadata"


@resource_rule(
    "compute-shielded-vm",
    family="compute",
    description="VMs and templates use Shielded VM with Secure Boot, vTPM and integrity monitoring.",
    severity=Severity.MEDIUM,
    remediation="Set shielded_instance_config(enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True) on a Shielded VM image.",
    types=t.VMS,
    applies_to=VM_TEXT,
    anchor="CKV_GCP_39",
)
def shielded_vm(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if inherits(resource, "shieldedInstanceConfig"):
        return
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
    description="VMs use OS Login (metadata enable-oslogin=TRUE), so SSH access follows IAM; project metadata never turns it off "
                "(a ProjectMetadata resource replaces all project metadata, so it must enable it).",
    severity=Severity.MEDIUM,
    remediation='Set metadata={"enable-oslogin": "TRUE"} on the VM or template, and in the project metadata.',
    types=[*t.VMS, *t.PROJECT_METADATA_TYPES],
    applies_to=VM_AND_PROJECT_TEXT,
    anchor="CKV_GCP_33, CKV_GCP_34",
)
def os_login(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if inherits(resource, "metadata"):
        return
    value = _metadata(resource).get("enable-oslogin")
    if resource.type == t.PROJECT_METADATA_ITEM:
        if value is not None and value not in TRUE_VALUES:
            yield Finding("project metadata turns OS Login off for every VM", 'set the item\'s value to "TRUE"')
    elif value not in TRUE_VALUES:
        where = "in the project metadata" if resource.type == t.PROJECT_METADATA else ""
        yield Finding(f"OS Login is not enabled {where}".rstrip(), 'set metadata enable-oslogin to "TRUE"')


SSH_KEY_ITEMS = ("ssh-keys", "sshkeys")


@resource_rule(
    "compute-block-project-ssh-keys",
    family="compute",
    description="VMs block project-wide SSH keys (metadata block-project-ssh-keys=TRUE), and project metadata declares no SSH keys.",
    severity=Severity.MEDIUM,
    remediation='Set metadata={"block-project-ssh-keys": "TRUE"} on VMs and templates; remove ssh-keys from the project metadata (use OS Login).',
    types=[*t.VMS, *t.PROJECT_METADATA_TYPES],
    applies_to=VM_AND_PROJECT_TEXT,
    anchor="CKV_GCP_32",
)
def block_project_ssh_keys(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    metadata = _metadata(resource)
    if resource.type in t.PROJECT_METADATA_TYPES:
        if any(metadata.get(key) for key in SSH_KEY_ITEMS):
            yield Finding("project metadata declares SSH keys that log in to every VM", "remove ssh-keys and rely on OS Login")
        return
    if inherits(resource, "metadata"):
        return
    if metadata.get("block-project-ssh-keys") not in TRUE_VALUES:
        yield Finding("project-wide SSH keys can log in", 'set metadata block-project-ssh-keys to "TRUE"')


@resource_rule(
    "compute-no-serial-port",
    family="compute",
    description="Interactive serial port access is off, on VMs and in project metadata.",
    severity=Severity.MEDIUM,
    remediation='Remove metadata serial-port-enable (or set it to "FALSE").',
    types=[*t.VMS, *t.PROJECT_METADATA_TYPES],
    applies_to=VM_AND_PROJECT_TEXT,
    anchor="CKV_GCP_35",
)
def no_serial_port(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if _metadata(resource).get("serial-port-enable") in TRUE_VALUES:
        yield Finding("the interactive serial port is enabled", "remove metadata serial-port-enable")


@resource_rule(
    "compute-no-ip-forwarding",
    family="compute",
    description="VMs do not forward IP packets (can_ip_forward off).",
    severity=Severity.MEDIUM,
    remediation="Set can_ip_forward=False; routing belongs to Cloud NAT and routers.",
    types=t.VMS,
    applies_to=VM_TEXT,
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
    types=t.VMS,
    applies_to=VM_TEXT,
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
    types=t.VMS,
    applies_to=VM_TEXT,
)
def gpu_terminate_on_maintenance(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if inherits(resource, "scheduling"):
        return
    if has_gpu(resource) and text(resource.props, "scheduling.onHostMaintenance") != "TERMINATE":
        yield Finding("a GPU VM does not set on_host_maintenance=TERMINATE", 'set scheduling.on_host_maintenance="TERMINATE"')


def vertex_machine_spec(resource: Resource) -> Any:
    if resource.type == t.VERTEX_MODEL_GARDEN:
        return get(resource.props, "deployConfig.dedicatedResources.machineSpec")
    return get(resource.props, "dedicatedResources.machineSpec")


@resource_rule(
    "compute-machine-type-allowlist",
    family="compute",
    description="VMs, templates, VMs from templates, Vertex AI deployments and resource pools use an allowed machine type (glob patterns per stage).",
    severity=Severity.MEDIUM,
    remediation="Pick a machine type matching allowedMachineTypes, or extend the stage's list with a reason.",
    types=[*t.VMS, t.VERTEX_MODEL_GARDEN, t.VERTEX_RESOURCE_POOL],
    applies_to=f"{VM_TEXT}, Vertex AI Model Garden deployments and deployment resource pools",
    params={"allowedMachineTypes": {"type": "array", "items": {"type": "string"},
                                    "default": ["e2-*", "n2-standard-*", "n2d-standard-*", "g2-standard-*"],
                                    "description": "glob patterns of allowed machine types"}},
)
def machine_type_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    patterns = config_list(config, "allowedMachineTypes")
    if resource.type in (t.VERTEX_MODEL_GARDEN, t.VERTEX_RESOURCE_POOL):
        kind = text(vertex_machine_spec(resource), "machineType")
    else:
        kind = machine_type(resource)
    if kind and not any(fnmatch.fnmatch(kind, pattern) for pattern in patterns):
        yield Finding(f"machine type {kind} is not allowed in this stage", f"use one matching {', '.join(patterns)}")


def run_spec(resource: Resource) -> Any:
    """The revision/task spec holding containers: Cloud Run v2 services (template), jobs (template.template), v1 (template.spec)."""
    if resource.type == t.RUN_JOB:
        return get(resource.props, "template.template")
    if resource.type == t.RUN_V1_SERVICE:
        return get(resource.props, "template.spec")
    return get(resource.props, "template")


def _run_gpus(resource: Resource) -> list[tuple[str, float]]:
    spec = run_spec(resource)
    if resource.type == t.RUN_V1_SERVICE:
        kind = text(mapping(get(spec, "nodeSelector")).get(RUN_V1_ACCELERATOR))
    else:
        kind = text(spec, "nodeSelector.accelerator")
    count = 0.0
    for container in items(get(spec, "containers")):
        # Not a dotted path: the limit's key itself contains dots.
        count += number(mapping(get(container, "resources.limits")).get(GPU_LIMIT)) or 0.0
    if kind and not count:
        count = 1.0  # a GPU node selector gets a GPU per instance
    return [(kind.lower() or "nvidia-l4", count)] if kind or count else []


def accelerator_requests(resource: Resource) -> list[tuple[str, float]]:
    """(accelerator type, count per instance/replica/task) a resource asks for, from every source."""
    if resource.type in (t.VERTEX_MODEL_GARDEN, t.VERTEX_RESOURCE_POOL):
        spec = vertex_machine_spec(resource)
        kind = text(spec, "acceleratorType")
        if kind:
            return [(kind.lower().replace("_", "-"), number(spec, "acceleratorCount") or 1.0)]
        implied = machine_gpus(text(spec, "machineType"))
        return [implied] if implied else []
    if resource.type in t.RUN_WORKLOADS:
        return _run_gpus(resource)
    if resource.type in t.VMS:
        return accelerators(resource)
    return []


@resource_rule(
    "compute-accelerator-allowlist",
    family="compute",
    description="GPUs (guest accelerators, the ones accelerator-optimized machine types carry, Cloud Run services and jobs, "
                "Vertex AI deployments and resource pools) are of an allowed type and at most maxPerInstance per VM, replica or instance.",
    severity=Severity.HIGH,
    remediation="Use an allowed accelerator (e.g. nvidia-l4) and no more than the per-instance cap.",
    types=t.GPU_CAPABLE,
    applies_to=f"{VM_TEXT}, Cloud Run services (v1 and v2) and jobs, Vertex AI deployments and resource pools",
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


def _disk_keys(resource: Resource) -> list[tuple[str, bool]]:
    """(which disk, encrypted with a key the customer controls) of each disk a resource creates.
    Customer-managed (kms_key_self_link) and customer-supplied (raw or RSA-wrapped) keys both count."""
    props = resource.props
    if resource.type in t.DISKS:
        key = get(props, "diskEncryptionKey")
        return [("the disk", bool(text(key, "kmsKeySelfLink") or text(key, "rawKey") or text(key, "rsaEncryptedKey")))]
    found: list[tuple[str, bool]] = []
    if resource.type in (t.INSTANCE, t.INSTANCE_FROM_TEMPLATE):
        boot = get(props, "bootDisk")
        if boot is not None and not text(boot, "source"):
            found.append(("the boot disk", bool(text(boot, "kmsKeySelfLink") or text(boot, "diskEncryptionKeyRaw")
                                                or text(boot, "diskEncryptionKeyRsa"))))
    elif resource.type in t.TEMPLATES:
        for index, disk in enumerate(items(get(props, "disks"))):
            if text(disk, "source"):
                continue  # an existing disk is checked where it is declared
            found.append((f"disk {index}", bool(text(disk, "diskEncryptionKey.kmsKeySelfLink"))))
    return found


@resource_rule(
    "compute-disk-cmek",
    family="compute",
    description="Disks the stack creates (disks, VM boot disks, template disks) are encrypted with a customer-managed or customer-supplied key.",
    severity=Severity.MEDIUM,
    remediation="Set disk_encryption_key.kms_key_self_link (boot_disk.kms_key_self_link on VMs) to a Cloud KMS key the Compute Engine service agent may use.",
    types=[*t.DISKS, t.INSTANCE, t.INSTANCE_FROM_TEMPLATE, *t.TEMPLATES],
    applies_to="disks, VM boot disks and instance template disks",
    anchor="CKV_GCP_37, CKV_GCP_38 (CSEK)",
)
def disk_cmek(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for which, keyed in _disk_keys(resource):
        if not keyed:
            yield Finding(f"{which} uses Google-managed encryption", "set a Cloud KMS key on it")
