"""Compute Engine: GPU machine types and scheduling, Spot VMs, boot disks, COS host firewall, MIGs, autoscalers, health checks.

Sources (read 2026-11):
- https://cloud.google.com/compute/docs/gpus/about-gpus: GPUs run on N1 (attached, not on the shared-core
  f1-micro/g1-small) and on the accelerator-optimized series, whose GPUs are attached automatically (A2: A100,
  A3: H100/H200, G2: L4); "GPUs can't be used with other machine series".
- GPU VMs cannot live-migrate: "Instances with guest accelerators do not support live migration"
  (openshift/release #63296, loft-sh/devpod #973 for g2 without the flag).
- Spot/preemptible: "Scheduling must have preemptible be false when AutomaticRestart is true"
  (percona/mongo_terraform_ansible #34) and "... when OnHostMaintenance isn't TERMINATE" (lighttransport/francine #5);
  the provider sends automaticRestart=true when it is not set (compute_instance_helpers expandScheduling).
- https://cloud.google.com/container-optimized-os/docs/how-to/firewall: with docker --net=host "you must explicitly
  configure the host firewall yourself".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, as_list, is_unknown, number
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule
from stagewise.readiness.rules._refs import integer, last_segment, machine_family, machine_type_name, region_of, text

INSTANCE = "gcp:compute/instance:Instance"
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
REGION_TEMPLATE = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"
VM_TYPES = (INSTANCE, TEMPLATE, REGION_TEMPLATE)
REGION_MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
AUTOSCALERS = ("gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp:compute/autoscaler:Autoscaler")
HEALTH_CHECKS = ("gcp:compute/healthCheck:HealthCheck", "gcp:compute/regionHealthCheck:RegionHealthCheck")

# about-gpus: accelerator-optimized series and the GPU models attached to them.
ACCELERATOR_OPTIMIZED: dict[str, frozenset[str]] = {
    "a2": frozenset({"nvidia-tesla-a100", "nvidia-a100-80gb"}),
    "a3": frozenset({"nvidia-h100-80gb", "nvidia-h100-mega-80gb", "nvidia-h200-141gb"}),
    "a4": frozenset({"nvidia-b200"}),
    "a4x": frozenset({"nvidia-gb200"}),
    "g2": frozenset({"nvidia-l4", "nvidia-l4-vws"}),
}
# GPU models attached to N1 machine types (every other model comes only with its accelerator-optimized series).
N1_GPUS = frozenset({
    "nvidia-tesla-t4", "nvidia-tesla-t4-vws", "nvidia-tesla-v100", "nvidia-tesla-p100", "nvidia-tesla-p100-vws",
    "nvidia-tesla-p4", "nvidia-tesla-p4-vws", "nvidia-tesla-k80",
})
N1_SHARED_CORE = frozenset({"f1-micro", "g1-small"})

# Smallest boot disk of public images whose size the API reported in "Requested disk size cannot be smaller
# than the image size (N GB)": CentOS 20 GB (elasticluster/elasticluster #716), Ubuntu 10 GB and Windows 50 GB
# (as juju's GCE provider records them).
IMAGE_MIN_GB: dict[str, int] = {"centos-cloud": 20, "ubuntu-os-cloud": 10, "windows-cloud": 50}

# Regional MIG target distribution shapes
# (https://cloud.google.com/compute/docs/instance-groups/regional-mig-set-target-distribution-shape).
TARGET_SHAPES = frozenset({"EVEN", "BALANCED", "ANY", "ANY_SINGLE_ZONE"})
HEALTH_CHECK_KINDS = ("httpHealthCheck", "httpsHealthCheck", "http2HealthCheck", "tcpHealthCheck", "sslHealthCheck",
                      "grpcHealthCheck", "grpcTlsHealthCheck")

_HOST_NETWORK = re.compile(r"docker\s+(?:container\s+)?(?:run|create)\b[^\n]*?(?:--net(?:work)?(?:=|\s+)host)\b")
_IPTABLES_ACCEPT = re.compile(r"iptables\b[^\n]*-[AI]\s+INPUT\b[^\n]*-j\s+ACCEPT")


def _machine(resource: Resource) -> str:
    return machine_type_name(resource.get("machineType"))


def _gpus(resource: Resource) -> list[tuple[int, str, int | None]]:
    """(index, accelerator type, count) of the guest accelerators a VM asks for."""
    found = []
    for index, item in enumerate(as_list(resource.get("guestAccelerators"))):
        if not isinstance(item, dict) or is_unknown(item.get("type")):
            continue
        kind = last_segment(text(item.get("type"))).lower()
        count = integer(item.get("count"))
        if kind and (count is None or count > 0):
            found.append((index, kind, count))
    return found


def _has_gpu(resource: Resource) -> bool:
    return bool(_gpus(resource)) or machine_family(_machine(resource)) in ACCELERATOR_OPTIMIZED


def _scheduling(resource: Resource) -> dict[str, Any]:
    value = resource.get("scheduling")
    return value if isinstance(value, dict) else {}


def _spot(resource: Resource) -> bool:
    scheduling = _scheduling(resource)
    return scheduling.get("preemptible") is True or text(scheduling.get("provisioningModel")).upper() == "SPOT"


def _boot_disk(resource: Resource) -> tuple[str, str, Any, str]:
    """(image, image field, size, size field) of a VM's or template's boot disk."""
    if resource.type == INSTANCE:
        return (text(resource.get("bootDisk.initializeParams.image")), "bootDisk.initializeParams.image",
                resource.get("bootDisk.initializeParams.size"), "bootDisk.initializeParams.size")
    disks = [d for d in as_list(resource.get("disks")) if isinstance(d, dict)]
    for index, disk in enumerate(disks):
        if disk.get("boot") is True or (index == 0 and disk.get("boot") is None):
            return (text(disk.get("sourceImage")), f"disks[{index}].sourceImage", disk.get("diskSizeGb"), f"disks[{index}].diskSizeGb")
    return "", "", None, ""


def _image_project(image: str) -> str:
    match = re.search(r"projects/([^/]+)/", image)
    if match:
        return match.group(1)
    first = image.split("/", 1)[0]
    return first if "/" in image and first.endswith("-cloud") else ""


def _startup_script(resource: Resource) -> tuple[str, str]:
    for field, value in (("metadataStartupScript", resource.get("metadataStartupScript")),
                         ("metadata.startup-script", resource.get("metadata.startup-script")),
                         ("metadata.user-data", resource.get("metadata.user-data"))):
        if text(value):
            return field, value
    return "", ""


# --- GPUs ---------------------------------------------------------------------------------------
@rule(
    "compute-gpu-machine-type", types=VM_TYPES, severity=BLOCKS,
    title="a GPU is attached to a machine type that cannot carry it",
    source="https://cloud.google.com/compute/docs/gpus/about-gpus",
)
def gpu_machine_type(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    machine = _machine(resource)
    family = machine_family(machine)
    if not machine:
        return
    for index, kind, _count in _gpus(resource):
        field = f"guestAccelerators[{index}].type"
        if family in ACCELERATOR_OPTIMIZED:
            if kind not in ACCELERATOR_OPTIMIZED[family]:
                yield Problem(field, f"{resource.name}: {machine} comes with {'/'.join(sorted(ACCELERATOR_OPTIMIZED[family]))} attached; "
                              f"it cannot take {kind}", f"drop guest_accelerators (the {family} GPUs are attached automatically), "
                              f"or use a machine type that carries {kind}")
        elif family in ("n1", "custom"):
            if machine in N1_SHARED_CORE:
                yield Problem(field, f"{resource.name}: shared-core {machine} cannot take GPUs", "use an n1-standard-* machine type")
            elif kind not in N1_GPUS:
                series = next((f for f, kinds in ACCELERATOR_OPTIMIZED.items() if kind in kinds), "")
                yield Problem(field, f"{resource.name}: {kind} is not attachable to N1 ({machine})"
                              + (f"; it comes only with {series}-* machine types" if series else ""),
                              f"use a {series}-* machine type and drop guest_accelerators" if series else
                              "use an N1 GPU: nvidia-tesla-t4, -v100, -p100 or -p4")
        else:
            yield Problem(field, f"{resource.name}: {machine} is a {family} machine type; GPUs attach only to N1 or come with the "
                          "accelerator-optimized series (a2, a3, g2)",
                          "for an L4 use a g2-standard-* machine type without guest_accelerators; for a T4 use n1-standard-*")


@rule(
    "compute-gpu-maintenance", types=VM_TYPES, severity=BLOCKS,
    title="a GPU VM does not set onHostMaintenance to TERMINATE (GPU VMs cannot live-migrate)",
    source="https://github.com/openshift/release/pull/63296",
)
def gpu_maintenance(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if not _has_gpu(resource):
        return
    value = _scheduling(resource).get("onHostMaintenance")
    if is_unknown(value):
        return
    policy = text(value).upper()
    if policy == "TERMINATE" or (not policy and _spot(resource)):
        return
    yield Problem("scheduling.onHostMaintenance", f"{resource.name} has GPUs ({_machine(resource)}) but onHostMaintenance is "
                  f"{policy or 'unset (MIGRATE)'}: 'Instances with guest accelerators do not support live migration'",
                  "set scheduling.on_host_maintenance='TERMINATE' (and automatic_restart as you need)")


@rule(
    "compute-spot-scheduling", types=VM_TYPES, severity=BLOCKS,
    title="a Spot/preemptible VM restarts automatically or live-migrates",
    source="https://github.com/percona/mongo_terraform_ansible/issues/34",
)
def spot_scheduling(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if not _spot(resource):
        return
    scheduling = _scheduling(resource)
    restart = scheduling.get("automaticRestart")
    if not is_unknown(restart) and restart is not False:
        yield Problem("scheduling.automaticRestart", f"{resource.name} is a Spot/preemptible VM but automaticRestart is "
                      f"{'unset (the provider sends true)' if restart is None else restart}: 'Scheduling must have preemptible be "
                      "false when AutomaticRestart is true'", "set scheduling.automatic_restart=False")
    if text(scheduling.get("onHostMaintenance")).upper() == "MIGRATE":
        yield Problem("scheduling.onHostMaintenance", f"{resource.name} is a Spot/preemptible VM with onHostMaintenance MIGRATE, "
                      "which GCP refuses", "set scheduling.on_host_maintenance='TERMINATE'")


@rule(
    "compute-e2-terminate", types=VM_TYPES, severity=BLOCKS,
    title="an E2 VM that is not preemptible asks for onHostMaintenance TERMINATE",
    source="https://github.com/chainguard-dev/terraform-infra-common/pull/935",
)
def e2_terminate(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "e2 instances do not support onHostMaintenance=TERMINATE unless they are preemptible."
    if machine_family(_machine(resource)) != "e2" or _spot(resource):
        return
    if text(_scheduling(resource).get("onHostMaintenance")).upper() == "TERMINATE":
        yield Problem("scheduling.onHostMaintenance", f"{resource.name}: e2 machine types support onHostMaintenance TERMINATE only "
                      "when preemptible", "set on_host_maintenance='MIGRATE' (or make it a Spot VM)")


@rule(
    "compute-gpu-capacity", types=VM_TYPES, severity=RISK,
    title="GPU VMs need GPU quota and a zone that offers the GPU model",
    source="https://cloud.google.com/compute/docs/gpus/about-gpus",
)
def gpu_capacity(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if not _has_gpu(resource):
        return
    kinds = sorted({kind for _, kind, _ in _gpus(resource)}) or sorted(ACCELERATOR_OPTIMIZED[machine_family(_machine(resource))])
    where = text(resource.get("zone")) or region_of(resource, inventory)
    yield Problem("machineType", f"{resource.name} needs {'/'.join(kinds)} GPUs in {where}: creation fails with a quota or "
                  "ZONE_RESOURCE_POOL_EXHAUSTED error when the project has no GPU quota there or the zone lacks the model",
                  "check `gcloud compute accelerator-types list --filter=zone~" + (where or "REGION") + "` and request GPU quota "
                  "(Spot VMs use the preemptible GPU quota) before the first deploy; a regional MIG with target shape ANY can "
                  "pick a zone with capacity")


# --- boot disk and image ------------------------------------------------------------------------
@rule(
    "compute-boot-disk-size", types=VM_TYPES, severity=BLOCKS,
    title="a boot disk is smaller than its image",
    source="https://github.com/elasticluster/elasticluster/issues/716",
)
def boot_disk_size(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    image, _image_field, size_value, size_field = _boot_disk(resource)
    minimum = IMAGE_MIN_GB.get(_image_project(image))
    size = number(size_value)
    if minimum is None or size is None:
        return
    if size < minimum:
        yield Problem(size_field, f"{resource.name}: the boot disk is {size:g} GB but its image ({image}) is {minimum} GB: 'Requested "
                      "disk size cannot be smaller than the image size'", f"set the boot disk size to at least {minimum} GB")


@rule(
    "compute-cos-host-firewall", types=VM_TYPES, severity=BROKEN,
    title="a COS VM runs a container with --network host but never opens the port in the host firewall",
    source="https://cloud.google.com/container-optimized-os/docs/how-to/firewall",
)
def cos_host_firewall(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    image, _field, _size, _size_field = _boot_disk(resource)
    if _image_project(image) != "cos-cloud":
        return
    field, script = _startup_script(resource)
    joined = re.sub(r"\\\n\s*", " ", script)
    if not _HOST_NETWORK.search(joined) or _IPTABLES_ACCEPT.search(joined):
        return
    yield Problem(field, f"{resource.name} runs on Container-Optimized OS and starts a container with --network host, but the "
                  "startup script never opens its port: COS's host firewall accepts only SSH, so the server is unreachable "
                  "(health checks and clients time out)", "add `iptables -w -A INPUT -p tcp --dport <PORT> -j ACCEPT` before "
                  "`docker run` in the startup script, or publish the port with -p <PORT>:<PORT> instead of --network host")


# Access scopes cap what a VM's service account token can call, whatever its IAM roles
# (https://www.kubeblogs.com/gcp-permissions-and-scopes-for-compute-engine-vms). Scope aliases as gcloud
# and the provider accept them.
_SCOPE_ALIASES = {
    "cloud-platform": "cloud-platform", "logging-write": "logging.write", "storage-ro": "devstorage.read_only",
    "storage-rw": "devstorage.read_write", "storage-full": "devstorage.full_control", "monitoring-write": "monitoring.write",
    "monitoring": "monitoring",
}
_REGISTRY_PULL = re.compile(r"docker\s+(?:pull|run|create)\b[^\n]*?(?:[a-z0-9-]+-docker\.pkg\.dev|(?:[a-z]+\.)?gcr\.io)/")
_SECRET_ACCESS = re.compile(r"gcloud\s+secrets\b|secretmanager\.googleapis\.com")


def _scopes(resource: Resource) -> set[str] | None:
    account = resource.get("serviceAccount")
    if not isinstance(account, dict) or is_unknown(account.get("scopes")) or account.get("scopes") is None:
        return None
    found = set()
    for scope in as_list(account.get("scopes")):
        name = text(scope).removeprefix("https://www.googleapis.com/auth/")
        found.add(_SCOPE_ALIASES.get(name, name))
    return found


@rule(
    "compute-sa-scopes", types=VM_TYPES, severity=BROKEN,
    title="a VM's access scopes exclude an API its own configuration uses (registry pulls, Secret Manager, logging)",
    source="https://www.kubeblogs.com/gcp-permissions-and-scopes-for-compute-engine-vms",
)
def sa_scopes(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    scopes = _scopes(resource)
    if scopes is None or "cloud-platform" in scopes:
        return
    _field, script = _startup_script(resource)
    needs: list[tuple[str, set[str]]] = []
    if _REGISTRY_PULL.search(re.sub(r"\\\n\s*", " ", script)):
        needs.append(("pull images from Artifact Registry", {"devstorage.read_only", "devstorage.read_write", "devstorage.full_control"}))
    if _SECRET_ACCESS.search(script):
        needs.append(("read Secret Manager secrets", set()))
    if text(resource.get("metadata.google-logging-enabled")).lower() == "true":
        needs.append(("send its logs to Cloud Logging", {"logging.write", "logging.admin"}))
    for what, enough in needs:
        if not scopes & enough:
            yield Problem("serviceAccount.scopes", f"{resource.name} needs to {what}, but its access scopes "
                          f"({', '.join(sorted(scopes)) or 'none'}) do not allow it: the calls fail with 403 insufficient "
                          "authentication scopes, whatever IAM roles the account holds",
                          "set service_account.scopes=['https://www.googleapis.com/auth/cloud-platform'] and control access with "
                          "IAM roles")
            return


# --- managed instance groups, autoscalers, health checks -------------------------------------------
@rule(
    "compute-mig-zones", types=(REGION_MIG,), severity=BLOCKS,
    title="a regional MIG distributes to zones outside its region, or names an unknown target shape",
    source="https://cloud.google.com/compute/docs/instance-groups/regional-mig-set-target-distribution-shape",
)
def mig_zones(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    region = region_of(resource, inventory)
    for index, zone_value in enumerate(as_list(resource.get("distributionPolicyZones"))):
        zone = last_segment(text(zone_value))
        if zone and region and not zone.startswith(region + "-"):
            yield Problem(f"distributionPolicyZones[{index}]", f"{resource.name} is in {region} but distributes to zone {zone}",
                          f"list zones of {region} (e.g. {region}-a, {region}-b), or drop distribution_policy_zones")
    shape = text(resource.get("distributionPolicyTargetShape"))
    if shape and shape.upper() not in TARGET_SHAPES:
        yield Problem("distributionPolicyTargetShape", f"{resource.name}: target shape '{shape}' is not one of "
                      f"{', '.join(sorted(TARGET_SHAPES))}", "use EVEN, BALANCED, ANY or ANY_SINGLE_ZONE")


@rule(
    "compute-autoscaler-bounds", types=AUTOSCALERS, severity=BLOCKS,
    title="an autoscaler's replica bounds or CPU target are out of range",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/RegionAutoscaler.yaml",
)
def autoscaler_bounds(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "The maximum number of replicas should not be lower than minimal number of replicas";
    # minReplicas "cannot be less than 0"; cpuUtilization.target "Must be a float value in the range (0, 1]".
    low, high = number(resource.get("autoscalingPolicy.minReplicas")), number(resource.get("autoscalingPolicy.maxReplicas"))
    if low is not None and low < 0:
        yield Problem("autoscalingPolicy.minReplicas", f"{resource.name}: minReplicas {low:g} is negative", "set min_replicas >= 0")
    if low is not None and high is not None and high < low:
        yield Problem("autoscalingPolicy.maxReplicas", f"{resource.name}: maxReplicas {high:g} is below minReplicas {low:g}",
                      "raise max_replicas to at least min_replicas")
    target = number(resource.get("autoscalingPolicy.cpuUtilization.target"))
    if target is not None and not 0 < target <= 1:
        yield Problem("autoscalingPolicy.cpuUtilization.target", f"{resource.name}: CPU target {target:g} is outside (0, 1]",
                      "write the target as a fraction, e.g. 0.6 for 60%")


@rule(
    "compute-health-check", types=HEALTH_CHECKS, severity=BLOCKS,
    title="a health check's timeout exceeds its interval, it has no or several check kinds, or its port is out of range",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/compute/HealthCheck.yaml",
)
def health_check(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "It is invalid for timeoutSec to have greater value than checkIntervalSec" (both default to 5);
    # exactly one of the *_health_check blocks.
    timeout, interval = number(resource.get("timeoutSec")), number(resource.get("checkIntervalSec"))
    effective_timeout, effective_interval = (5.0 if timeout is None else timeout), (5.0 if interval is None else interval)
    if (timeout is not None or interval is not None) and effective_timeout > effective_interval:
        yield Problem("timeoutSec", f"{resource.name}: timeoutSec {effective_timeout:g} is longer than checkIntervalSec "
                      f"{effective_interval:g}", "make timeout_sec at most check_interval_sec")
    kinds = [kind for kind in HEALTH_CHECK_KINDS if isinstance(resource.get(kind), dict)]
    if len(kinds) != 1 and not any(is_unknown(resource.get(kind)) for kind in HEALTH_CHECK_KINDS):
        yield Problem(kinds[1] if len(kinds) > 1 else "httpHealthCheck",
                      f"{resource.name} sets {'several check kinds (' + ', '.join(kinds) + ')' if kinds else 'no check kind'}; a "
                      "health check has exactly one", "keep exactly one of http_health_check, https_health_check, "
                      "tcp_health_check, ...")
    for kind in kinds:
        port = number(resource.get(f"{kind}.port"))
        if port is not None and not 1 <= port <= 65535:
            yield Problem(f"{kind}.port", f"{resource.name}: port {port:g} is outside 1-65535", "use the serving port, e.g. 8000")
