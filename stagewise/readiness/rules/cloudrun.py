"""Cloud Run (v2 services and jobs, v1 services where the rule is the same): what the Admin API refuses
or what deploys but cannot serve.

Every limit below is quoted from the page named next to it. Values are read as the engine sends them
(camelCase inputs, numbers as floats, quantities as strings such as "2000m" or "4Gi"); anything
absent, unknown or of another shape is skipped, never guessed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from stagewise.readiness.inventory import UNKNOWN, Grant, Inventory, Resource, as_list, dig, is_unknown, number
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule
from stagewise.readiness.rules._images import ImageRef, parse_image, pushed_images, repository_of

SERVICE = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
SERVICE_V1 = "gcp:cloudrun/service:Service"
V2 = (SERVICE, JOB)
ALL_RUN = (SERVICE, JOB, SERVICE_V1)
SECRET = "gcp:secretmanager/secret:Secret"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
NEG = "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup"
BACKENDS = ("gcp:compute/backendService:BackendService", "gcp:compute/regionBackendService:RegionBackendService")
DOMAIN_MAPPING = "gcp:cloudrun/domainMapping:DomainMapping"
CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
UNREAD_IAM_TYPES = (
    "gcp:secretmanager/secretIamPolicy:SecretIamPolicy", "gcp:projects/iAMPolicy:IAMPolicy",
    "gcp:organizations/iAMMember:IAMMember", "gcp:organizations/iAMBinding:IAMBinding",
    "gcp:folder/iAMMember:IAMMember", "gcp:folder/iAMBinding:IAMBinding",
)

GIB = 1024**3
MIB = 1024**2


# --- reading the shapes of the three resource types -------------------------------------------------
def revision_path(resource: Resource) -> str:
    """Where the revision (or task) settings live: serviceAccount, timeout, scaling, vpcAccess, nodeSelector."""
    if resource.type == JOB:
        return "template.template"
    if resource.type == SERVICE_V1:
        return "template.spec"
    return "template"


def revision(resource: Resource) -> Mapping[str, Any]:
    value = resource.get(revision_path(resource))
    return value if isinstance(value, Mapping) else {}


def containers(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    base = revision_path(resource)
    found: list[tuple[str, Mapping[str, Any]]] = []
    for index, item in enumerate(as_list(resource.get(f"{base}.containers"))):
        if isinstance(item, Mapping):
            found.append((f"{base}.containers[{index}]", item))
    return found


def limits_of(container: Mapping[str, Any]) -> Mapping[str, Any]:
    value = dig(container, "resources.limits")
    return value if isinstance(value, Mapping) else {}


def service_name(resource: Resource) -> str | None:
    value = resource.get("name")
    return value if isinstance(value, str) and value and value != UNKNOWN else None


def location_of(resource: Resource, inventory: Inventory) -> str:
    value = resource.get("location")
    return value if isinstance(value, str) and value and value != UNKNOWN else inventory.region


def parse_cpu(value: Any) -> float | None:
    """A CPU quantity: 1, 1.0, "1", "0.5", "1000m"."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("m"):
            milli = number(text[:-1])
            return None if milli is None else milli / 1000
        return number(text)
    return number(value)


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$")
_UNITS = {None: 1, "Ki": 1024, "Mi": MIB, "Gi": GIB, "Ti": 1024**4, "k": 1000, "K": 1000, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_memory(value: Any) -> float | None:
    """A memory quantity in bytes: "512Mi", "4Gi", "4096Mi", "2G", or a plain byte count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_seconds(value: Any) -> float | None:
    """A protobuf duration as the provider takes it ("300s", "3.5s"), or a number of seconds."""
    if isinstance(value, str):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", value.strip())
        return float(match.group(1)) if match else None
    return number(value)


def show_memory(value: float) -> str:
    return f"{value / GIB:g}Gi" if value >= GIB else f"{value / MIB:g}Mi"


def cpu_and_memory(container: Mapping[str, Any]) -> tuple[float | None, float | None, bool, bool]:
    """(cpu, memory, cpu given, memory given); the API defaults are 1 CPU and 512 MiB."""
    limits = limits_of(container)
    cpu_raw, mem_raw = limits.get("cpu"), limits.get("memory")
    if is_unknown(cpu_raw) or is_unknown(mem_raw):
        return None, None, False, False
    cpu = 1.0 if cpu_raw is None else parse_cpu(cpu_raw)
    memory = 512 * MIB if mem_raw is None else parse_memory(mem_raw)
    return cpu, memory, cpu_raw is not None, mem_raw is not None


def accelerator(resource: Resource) -> str | None:
    value = revision(resource).get("nodeSelector")
    acc = value.get("accelerator") if isinstance(value, Mapping) else None
    return acc if isinstance(acc, str) and acc != UNKNOWN else None


def gpu_count(container: Mapping[str, Any]) -> float | None:
    return number(limits_of(container).get("nvidia.com/gpu"))


def uses_gpu(resource: Resource) -> bool:
    return accelerator(resource) is not None or any(gpu_count(c) for _, c in containers(resource))


# --- CPU and memory ---------------------------------------------------------------------------------
# https://cloud.google.com/run/docs/configuring/services/cpu ("CPU and memory table"): below 1 vCPU any
# value from 0.08 to 1 in increments of 0.001; above 1 the value must be an integer. The provider's
# schema narrows the integers: "The only supported values for CPU are '1', '2', '4', '6', and '8'"
# (https://www.pulumi.com/registry/packages/gcp/api-docs/cloudrunv2/service/, resources.limits).
CPU_MIN = 0.08
CPU_INTEGERS = (1.0, 2.0, 4.0, 6.0, 8.0)
# The NVIDIA RTX PRO 6000 needs at least 20 CPU and 80 GiB (https://cloud.google.com/run/docs/configuring/services/gpu),
# beyond the table above: the CPU and memory maxima are not checked for it.
LARGE_GPU = "nvidia-rtx-pro-6000"


@rule(
    "run-cpu-value", types=ALL_RUN, severity=BLOCKS,
    title="a container's CPU limit is not a value Cloud Run accepts",
    source="https://cloud.google.com/run/docs/configuring/services/cpu",
)
def run_cpu_value(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    large = accelerator(resource) == LARGE_GPU
    for path, container in containers(resource):
        raw = limits_of(container).get("cpu")
        if raw is None or is_unknown(raw):
            continue
        cpu = parse_cpu(raw)
        field = f"{path}.resources.limits.cpu"
        if cpu is None:
            yield Problem(field, f"{resource.name}: CPU limit {raw!r} is not a quantity", 'set it as "1", "2", "0.5" or "500m"')
        elif cpu < CPU_MIN:
            yield Problem(field, f"{resource.name}: CPU limit {raw!r} is below the minimum of 0.08 vCPU", "set at least 0.08")
        elif cpu < 1 and abs(cpu * 1000 - round(cpu * 1000)) > 1e-6:
            yield Problem(field, f"{resource.name}: CPU limit {raw!r} below 1 must be a multiple of 0.001", "round it to 3 decimals")
        elif cpu > 1 and not large and cpu not in CPU_INTEGERS:
            yield Problem(
                field, f"{resource.name}: CPU limit {raw!r} is not one of the values Cloud Run accepts above 1 (2, 4, 6, 8)",
                "set cpu to 1, 2, 4, 6 or 8 (or a fraction between 0.08 and 1)",
            )


# https://cloud.google.com/run/docs/configuring/services/memory-limits: "The maximum amount of memory you
# can configure is 32 GiB"; minimum 128 MiB in the first generation, 512 MiB in the second.
MEMORY_MAX = 32 * GIB
MEMORY_MIN_GEN1 = 128 * MIB
MEMORY_MIN_GEN2 = 512 * MIB


@rule(
    "run-memory-bounds", types=ALL_RUN, severity=BLOCKS,
    title="a container's memory limit is above 32 GiB or below the execution environment's minimum",
    source="https://cloud.google.com/run/docs/configuring/services/memory-limits",
)
def run_memory_bounds(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if accelerator(resource) == LARGE_GPU:
        return
    gen2 = revision(resource).get("executionEnvironment") == "EXECUTION_ENVIRONMENT_GEN2"
    for path, container in containers(resource):
        raw = limits_of(container).get("memory")
        if raw is None or is_unknown(raw):
            continue
        memory = parse_memory(raw)
        field = f"{path}.resources.limits.memory"
        if memory is None:
            yield Problem(field, f"{resource.name}: memory limit {raw!r} is not a quantity", 'set it as "512Mi" or "4Gi"')
        elif memory > MEMORY_MAX:
            yield Problem(field, f"{resource.name}: memory limit {raw!r} is above Cloud Run's maximum of 32Gi", "set at most 32Gi")
        elif gen2 and memory < MEMORY_MIN_GEN2:
            yield Problem(
                field, f"{resource.name}: memory limit {raw!r} is below 512Mi, the minimum in the second generation execution environment",
                "set at least 512Mi",
            )
        elif memory < MEMORY_MIN_GEN1:
            yield Problem(field, f"{resource.name}: memory limit {raw!r} is below Cloud Run's minimum of 128Mi", "set at least 128Mi")


# Memory needs CPU (https://cloud.google.com/run/docs/configuring/services/memory-limits, "Required minimum
# CPUs"): more than 4 GiB needs 2, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8.
MEMORY_NEEDS_CPU = ((24 * GIB, 8.0), (16 * GIB, 6.0), (8 * GIB, 4.0), (4 * GIB, 2.0))
# And CPU needs memory (https://cloud.google.com/run/docs/configuring/services/cpu): 4 vCPU from 2 GiB,
# 6 and 8 vCPU from 4 GiB; below 1 vCPU, more than 512 MiB needs 0.5 vCPU and more than 1 GiB needs 1.
CPU_NEEDS_MEMORY = ((6.0, 4 * GIB), (4.0, 2 * GIB))


def _cpu_memory_problem(cpu: float, memory: float) -> str | None:
    for above, needs in MEMORY_NEEDS_CPU:
        if memory > above and cpu < needs:
            return f"{show_memory(memory)} of memory needs at least {needs:g} CPU, not {cpu:g}"
    if cpu < 1:
        if memory > GIB:
            return f"more than 1Gi of memory needs at least 1 CPU, not {cpu:g}"
        if memory > 512 * MIB and cpu < 0.5:
            return f"more than 512Mi of memory needs at least 0.5 CPU, not {cpu:g}"
    for at_least, needs in CPU_NEEDS_MEMORY:
        if cpu >= at_least and memory < needs:
            return f"{cpu:g} CPU needs at least {show_memory(needs)} of memory, not {show_memory(memory)}"
    return None


@rule(
    "run-cpu-memory", types=ALL_RUN, severity=BLOCKS,
    title="a container's CPU and memory limits are not a combination Cloud Run accepts",
    source="https://cloud.google.com/run/docs/configuring/services/memory-limits",
)
def run_cpu_memory(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if accelerator(resource) == LARGE_GPU:
        return  # its minimums (20 CPU, 80 GiB) are beyond this table: run-gpu-resources checks them
    for path, container in containers(resource):
        cpu, memory, cpu_given, mem_given = cpu_and_memory(container)
        if cpu is None or memory is None or not (cpu_given or mem_given):
            continue
        problem = _cpu_memory_problem(cpu, memory)
        if problem:
            yield Problem(
                f"{path}.resources.limits", f"{resource.name}: {problem} (CPU defaults to 1 and memory to 512Mi when unset)",
                "raise the CPU or lower the memory to a pair in Cloud Run's CPU and memory table",
            )


@rule(
    "run-fractional-cpu", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="a service with less than 1 CPU has concurrency above 1, instance-based billing or the second generation",
    source="https://cloud.google.com/run/docs/configuring/services/cpu",
)
def run_fractional_cpu(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "If you use less than 1 vCPU ... Maximum concurrency must be set to 1 ... billing must be
    # request-based ... you must use the first generation execution environment." Unset concurrency
    # then defaults to 1 (provider doc, maxInstanceRequestConcurrency), which is fine.
    rev = revision(resource)
    for path, container in containers(resource):
        cpu, _, cpu_given, _ = cpu_and_memory(container)
        if cpu is None or not cpu_given or cpu >= 1:
            continue
        concurrency_field = "containerConcurrency" if resource.type == SERVICE_V1 else "maxInstanceRequestConcurrency"
        concurrency = number(rev.get(concurrency_field))
        if concurrency is not None and concurrency > 1:
            yield Problem(
                f"{revision_path(resource)}.{concurrency_field}",
                f"{resource.name}: {cpu:g} CPU (below 1) requires a maximum concurrency of 1, not {concurrency:g}",
                f"set {concurrency_field}=1 or give the container at least 1 CPU",
            )
        if resource.type == SERVICE:
            # Provider doc (resources.cpuIdle): true by default only when `resources` is unset; once
            # limits are set it must be set to true explicitly to keep request-based billing.
            if dig(container, "resources.cpuIdle") is not True:
                yield Problem(
                    f"{path}.resources.cpuIdle",
                    f"{resource.name}: {cpu:g} CPU (below 1) requires request-based billing, but cpuIdle is not true",
                    "set resources.cpu_idle=True or give the container at least 1 CPU",
                )
            if rev.get("executionEnvironment") == "EXECUTION_ENVIRONMENT_GEN2":
                yield Problem(
                    f"{revision_path(resource)}.executionEnvironment",
                    f"{resource.name}: {cpu:g} CPU (below 1) requires the first generation execution environment",
                    "set execution_environment=\"EXECUTION_ENVIRONMENT_GEN1\" or give the container at least 1 CPU",
                )


# https://cloud.google.com/run/docs/about-concurrency: "you can increase this to a maximum of 1000".
CONCURRENCY_MAX = 1000


@rule(
    "run-concurrency-max", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="maximum concurrent requests per instance is above 1000",
    source="https://cloud.google.com/run/docs/about-concurrency",
)
def run_concurrency_max(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = "containerConcurrency" if resource.type == SERVICE_V1 else "maxInstanceRequestConcurrency"
    value = number(revision(resource).get(name))
    if value is not None and (value > CONCURRENCY_MAX or value < 0):
        yield Problem(
            f"{revision_path(resource)}.{name}", f"{resource.name}: {name}={value:g}; Cloud Run accepts 0 (default) to 1000",
            f"set {name} between 1 and 1000",
        )


# https://cloud.google.com/run/docs/configuring/request-timeout: default 300 s, "can be extended up to
# 60 minutes (3600 seconds)". https://cloud.google.com/run/docs/configuring/task-timeout: a job task up
# to 168 hours (7 days); "For tasks using GPUs, the maximum available timeout is 1 hour".
SERVICE_TIMEOUT_MAX = 3600.0
TASK_TIMEOUT_MAX = 168 * 3600.0
GPU_TASK_TIMEOUT_MAX = 3600.0


@rule(
    "run-request-timeout", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="a service's request timeout is above 3600 s",
    source="https://cloud.google.com/run/docs/configuring/request-timeout",
)
def run_request_timeout(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = "timeoutSeconds" if resource.type == SERVICE_V1 else "timeout"
    raw = revision(resource).get(name)
    seconds = parse_seconds(raw)
    if seconds is not None and (seconds > SERVICE_TIMEOUT_MAX or seconds <= 0):
        yield Problem(
            f"{revision_path(resource)}.{name}", f"{resource.name}: request timeout {raw!r} is outside 1 s to 3600 s",
            'set the timeout to at most "3600s"',
        )


@rule(
    "run-task-timeout", types=(JOB,), severity=BLOCKS,
    title="a job's task timeout is above 168 h (1 h for a GPU task)",
    source="https://cloud.google.com/run/docs/configuring/task-timeout",
)
def run_task_timeout(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    raw = revision(resource).get("timeout")
    seconds = parse_seconds(raw)
    if seconds is None:
        return
    limit = GPU_TASK_TIMEOUT_MAX if uses_gpu(resource) else TASK_TIMEOUT_MAX
    if seconds > limit or seconds <= 0:
        what = "1 h for a task with a GPU" if uses_gpu(resource) else "168 h"
        yield Problem(
            "template.template.timeout", f"{resource.name}: task timeout {raw!r} is above the maximum of {what}",
            f'set the timeout to at most "{limit:.0f}s"',
        )


# --- GPU ----------------------------------------------------------------------------------------------
# https://cloud.google.com/run/docs/configuring/services/gpu (and jobs/gpu): one GPU per instance, on one
# container; "For L4 GPUs, you must use a minimum of 4 CPU and 16 GiB of memory"; "For NVIDIA RTX PRO 6000
# Blackwell GPU, you must use a minimum of 20 CPU and 80 GiB of memory"; instance-based billing only.
# The accelerator names are the node selector values (nvidia-l4; nvidia-rtx-pro-6000 as used with
# `--gpu-type` for Cloud Run in public deploy scripts).
GPU_MINIMUMS: dict[str, tuple[float, float]] = {"nvidia-l4": (4.0, 16 * GIB), LARGE_GPU: (20.0, 80 * GIB)}
# Supported regions, same page (the invitation-only ones included: they are valid locations).
GPU_REGIONS: dict[str, frozenset[str]] = {
    "nvidia-l4": frozenset({"us-central1", "us-east4", "europe-west1", "europe-west4", "asia-southeast1", "asia-south1"}),
    LARGE_GPU: frozenset({"us-central1", "europe-west4", "asia-southeast1", "asia-south2"}),
}
GPU_SOURCE = "https://cloud.google.com/run/docs/configuring/services/gpu"


@rule(
    "run-gpu-config", types=V2, severity=BLOCKS,
    title="a GPU is requested without its node selector (or the reverse), of an unknown type, or more than one",
    source=GPU_SOURCE,
)
def run_gpu_config(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    acc = accelerator(resource)
    with_gpu = [(path, c) for path, c in containers(resource) if gpu_count(c)]
    selector = f"{revision_path(resource)}.nodeSelector.accelerator"
    if acc is not None and acc not in GPU_MINIMUMS:
        yield Problem(selector, f"{resource.name}: accelerator {acc!r} is not a Cloud Run GPU type", 'use "nvidia-l4" (or "nvidia-rtx-pro-6000")')
    if acc is not None and not with_gpu:
        yield Problem(
            selector, f"{resource.name}: a GPU node selector is set but no container requests nvidia.com/gpu",
            'add limits {"nvidia.com/gpu": "1"} to the container that uses the GPU',
        )
    if with_gpu and acc is None and not is_unknown(revision(resource).get("nodeSelector")):
        yield Problem(
            selector, f"{resource.name}: a container requests nvidia.com/gpu but the revision has no nodeSelector.accelerator",
            'set node_selector={"accelerator": "nvidia-l4"}',
        )
    for path, container in with_gpu:
        count = gpu_count(container)
        if count is not None and count != 1:
            yield Problem(
                f"{path}.resources.limits.nvidia.com/gpu", f"{resource.name}: {count:g} GPUs requested; Cloud Run attaches one GPU per instance",
                'set "nvidia.com/gpu": "1"',
            )
    if len(with_gpu) > 1:
        yield Problem(
            f"{with_gpu[1][0]}.resources.limits.nvidia.com/gpu", f"{resource.name}: more than one container requests the GPU; it attaches to one container only",
            "request nvidia.com/gpu on one container",
        )


@rule(
    "run-gpu-resources", types=V2, severity=BLOCKS,
    title="a GPU container has less than the GPU type's minimum CPU or memory",
    source=GPU_SOURCE,
)
def run_gpu_resources(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    acc = accelerator(resource)
    if acc not in GPU_MINIMUMS:
        return
    assert acc is not None
    min_cpu, min_memory = GPU_MINIMUMS[acc]
    for path, container in containers(resource):
        if not gpu_count(container):
            continue
        cpu, memory, _, _ = cpu_and_memory(container)
        if cpu is not None and cpu < min_cpu or memory is not None and memory < min_memory:
            yield Problem(
                f"{path}.resources.limits",
                f"{resource.name}: {acc} needs at least {min_cpu:g} CPU and {show_memory(min_memory)}, "
                f"the container has {cpu if cpu is None else f'{cpu:g}'} CPU and {memory if memory is None else show_memory(memory)}",
                f'set limits {{"cpu": "{min_cpu:g}", "memory": "{show_memory(min_memory)}"}} or more',
            )


@rule(
    "run-gpu-billing", types=(SERVICE,), severity=BLOCKS,
    title="a GPU service uses request-based billing (cpuIdle true): GPUs need instance-based billing",
    source=GPU_SOURCE,
)
def run_gpu_billing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if not uses_gpu(resource):
        return
    for path, container in containers(resource):
        if gpu_count(container) and dig(container, "resources.cpuIdle") is True:
            yield Problem(
                f"{path}.resources.cpuIdle", f"{resource.name}: GPU services must use instance-based billing (CPU always allocated), but cpuIdle is true",
                "set resources.cpu_idle=False",
            )


@rule(
    "run-gpu-region", types=V2, severity=BLOCKS,
    title="a GPU service or job is in a region without that GPU",
    source=GPU_SOURCE,
)
def run_gpu_region(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    acc = accelerator(resource)
    if acc not in GPU_REGIONS:
        return
    assert acc is not None
    region = location_of(resource, inventory)
    if region and region != UNKNOWN and region not in GPU_REGIONS[acc]:
        yield Problem(
            "location", f"{resource.name}: {acc} is not offered by Cloud Run in {region}",
            f"deploy it in one of {', '.join(sorted(GPU_REGIONS[acc]))}",
        )


# https://cloud.google.com/run/docs/configuring/services/gpu-zonal-redundancy ("Request quota"): by
# default there is no GPU quota, with or without zonal redundancy; it must be requested per region.
@rule(
    "run-gpu-quota", types=V2, severity=RISK,
    title="a GPU service or job needs GPU quota that a new project does not have",
    source="https://cloud.google.com/run/docs/configuring/services/gpu-zonal-redundancy",
)
def run_gpu_quota(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    acc = accelerator(resource)
    if acc is None:
        return
    rev = revision(resource)
    redundancy = "without" if rev.get("gpuZonalRedundancyDisabled") is True else "with"
    maximum = number(dig(rev, "scaling.maxInstanceCount"))
    if maximum is None and resource.type == SERVICE:
        maximum = number(resource.get("scaling.maxInstanceCount"))
    count = f"{maximum:g} GPUs (one per instance at max instances)" if maximum is not None else "one GPU per instance, up to max instances"
    yield Problem(
        f"{revision_path(resource)}.nodeSelector.accelerator",
        f"{resource.name}: {acc} needs Cloud Run GPU quota {redundancy} zonal redundancy in {location_of(resource, inventory)}: "
        f"{count}; a project starts with none",
        "request the quota before the deploy (Cloud Run Admin API quotas), and set scaling.max_instance_count within it",
    )


# --- environment and ports --------------------------------------------------------------------------
# https://cloud.google.com/run/docs/configuring/services/environment-variables ("Reserved names"): the
# variables of the container runtime contract (https://cloud.google.com/run/docs/container-contract)
# "are reserved and cannot be set".
RESERVED_SERVICE_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
RESERVED_JOB_ENV = frozenset({"CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT", "CLOUD_RUN_TASK_COUNT"})


@rule(
    "run-env-reserved", types=ALL_RUN, severity=BLOCKS,
    title="a container sets an environment variable the runtime contract reserves",
    source="https://cloud.google.com/run/docs/configuring/services/environment-variables",
)
def run_env_reserved(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    reserved = RESERVED_JOB_ENV if resource.type == JOB else RESERVED_SERVICE_ENV
    for path, container in containers(resource):
        for index, env in enumerate(as_list(container.get("envs"))):
            name = env.get("name") if isinstance(env, Mapping) else None
            if isinstance(name, str) and name in reserved:
                yield Problem(
                    f"{path}.envs[{index}].name", f"{resource.name}: environment variable {name} is set by Cloud Run and cannot be set",
                    f"remove {name} (to change the serving port, set ports.container_port instead)" if name == "PORT" else f"remove {name}",
                )


@rule(
    "run-container-port", types=V2, severity=BLOCKS,
    title="a container port is not a valid TCP port",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/cloudrunv2/service/",
)
def run_container_port(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Provider doc (ports.containerPort): "This must be a valid TCP port number, 0 < containerPort < 65536."
    for path, container in containers(resource):
        for index, port in enumerate(as_list(container.get("ports"))):
            value = number(port.get("containerPort")) if isinstance(port, Mapping) else None
            if value is not None and not (0 < value < 65536 and value == int(value)):
                yield Problem(f"{path}.ports[{index}].containerPort", f"{resource.name}: container port {value:g} is not a TCP port", "use 1-65535 (8080 by default)")


# --- names, revisions, traffic -------------------------------------------------------------------------
# v2 CreateService: service_id "only lowercase, digits, and hyphens; must begin with letter, and cannot end
# with hyphen; must be less than 50 characters" (https://github.com/pulumi/pulumi-gcp/issues/3166). The v1
# API allows up to 63 (https://github.com/terraform-google-modules/terraform-docs-samples/pull/171).
_NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
NAME_MAX = {SERVICE: 49, SERVICE_V1: 63}


@rule(
    "run-service-name", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="a service name is not lowercase letters, digits and hyphens starting with a letter, or is too long",
    source="https://github.com/pulumi/pulumi-gcp/issues/3166",
)
def run_service_name(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = service_name(resource)
    if name is None:
        return
    limit = NAME_MAX[resource.type]
    if not _NAME.match(name) or len(name) > limit:
        yield Problem(
            "name", f"{resource.name}: service name {name!r} ({len(name)} characters) is not accepted: lowercase letters, digits and "
            f"hyphens, starting with a letter, not ending with a hyphen, at most {limit} characters",
            "rename the service",
        )


# A fixed revision name "must be prefixed by the name of the enclosing Service ... with a trailing -"
# (Cloud Run serves the Knative API: https://github.com/knative/serving/pull/3562), and "only lowercase,
# digits, and hyphens; must begin with letter ... must be less than 64 characters"
# (https://github.com/pipe-cd/pipecd/issues/5688).
REVISION_MAX = 63


@rule(
    "run-revision-name", types=(SERVICE,), severity=BLOCKS,
    title="a fixed revision name does not start with '<service>-', has invalid characters or is too long",
    source="https://github.com/knative/serving/pull/3562",
)
def run_revision_name(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    revision_name = resource.get("template.revision")
    if not isinstance(revision_name, str) or not revision_name or revision_name == UNKNOWN:
        return
    name = service_name(resource)
    if name is not None and not revision_name.startswith(f"{name}-"):
        yield Problem(
            "template.revision", f"{resource.name}: revision name {revision_name!r} does not start with the service name and a hyphen ({name}-)",
            f"name it {name}-<suffix>, or leave template.revision unset",
        )
    if not _NAME.match(revision_name) or len(revision_name) > REVISION_MAX:
        yield Problem(
            "template.revision", f"{resource.name}: revision name {revision_name!r} must be lowercase letters, digits and hyphens, "
            "start with a letter, not end with a hyphen, and be under 64 characters",
            "shorten or rename the revision suffix",
        )


def _traffic(resource: Resource) -> list[Mapping[str, Any]]:
    return [t for t in as_list(resource.get("traffics")) if isinstance(t, Mapping)]


@rule(
    "run-traffic-percent", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="traffic percentages do not add up to 100",
    source="https://github.com/knative/specs/pull/70",
)
def run_traffic_percent(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Knative serving spec (which Cloud Run implements): "all values MUST sum to 100. Note, a missing
    # percent value implies zero."
    targets = _traffic(resource)
    if not targets or any(is_unknown(t.get("percent")) for t in targets):
        return
    percents = [number(t.get("percent")) or 0.0 for t in targets]
    for index, percent in enumerate(percents):
        if percent < 0 or percent > 100:
            yield Problem(f"traffics[{index}].percent", f"{resource.name}: traffic percent {percent:g} is outside 0-100", "use 0 to 100")
    total = sum(percents)
    if abs(total - 100) > 1e-9:
        yield Problem("traffics", f"{resource.name}: traffic percentages add up to {total:g}, not 100", "make the percentages add up to 100")


# The tag URL's DNS label: "Combined traffic tag and service name cannot exceed 46 characters"
# (https://github.com/PolicyEngine/policyengine-api/issues/3729).
TAG_AND_NAME_MAX = 46


@rule(
    "run-traffic-tag", types=(SERVICE, SERVICE_V1), severity=BLOCKS,
    title="a traffic tag and the service name together exceed 46 characters",
    source="https://github.com/PolicyEngine/policyengine-api/issues/3729",
)
def run_traffic_tag(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    name = service_name(resource)
    if name is None:
        return
    for index, target in enumerate(_traffic(resource)):
        tag = target.get("tag")
        if isinstance(tag, str) and tag and tag != UNKNOWN and len(tag) + len(name) > TAG_AND_NAME_MAX:
            yield Problem(
                f"traffics[{index}].tag", f"{resource.name}: tag {tag!r} and service name {name!r} are {len(tag) + len(name)} characters together; "
                "Cloud Run accepts at most 46 (they form the tag URL's DNS label)",
                f"shorten the tag to at most {TAG_AND_NAME_MAX - len(name)} characters",
            )


# --- probes -------------------------------------------------------------------------------------------------
# Cloud Run v2 Probe (https://cloud.google.com/python/docs/reference/run/latest/google.cloud.run_v2.types.Probe):
# initialDelaySeconds 0 to 3600 for liveness, 0 to 240 for startup; periodSeconds 1 to 3600 for liveness,
# 1 to 240 for startup, "greater or equal than timeout_seconds"; timeoutSeconds 1 to 3600; failureThreshold >= 1.
PROBE_LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    "startupProbe": {"initialDelaySeconds": (0, 240), "periodSeconds": (1, 240), "timeoutSeconds": (1, 3600), "failureThreshold": (1, float("inf"))},
    "livenessProbe": {"initialDelaySeconds": (0, 3600), "periodSeconds": (1, 3600), "timeoutSeconds": (1, 3600), "failureThreshold": (1, float("inf"))},
}


@rule(
    "run-probe-bounds", types=V2, severity=BLOCKS,
    title="a startup or liveness probe setting is outside Cloud Run's bounds, or its timeout exceeds its period",
    source="https://cloud.google.com/python/docs/reference/run/latest/google.cloud.run_v2.types.Probe",
)
def run_probe_bounds(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for path, container in containers(resource):
        for kind, bounds in PROBE_LIMITS.items():
            probe = container.get(kind)
            if not isinstance(probe, Mapping):
                continue
            for key, (low, high) in bounds.items():
                value = number(probe.get(key))
                if value is not None and not low <= value <= high:
                    limit = f"{low:g} to {high:g}" if high != float("inf") else f"at least {low:g}"
                    yield Problem(f"{path}.{kind}.{key}", f"{resource.name}: {kind}.{key}={value:g}; Cloud Run accepts {limit}", f"set {key} to {limit}")
            period = number(probe.get("periodSeconds")) or 10.0  # API defaults: period 10 s, timeout 1 s
            timeout = number(probe.get("timeoutSeconds")) or 1.0
            if timeout > period:
                yield Problem(
                    f"{path}.{kind}.timeoutSeconds", f"{resource.name}: {kind} timeout {timeout:g}s is longer than its period {period:g}s",
                    "set timeout_seconds at most period_seconds",
                )


# --- secrets ------------------------------------------------------------------------------------------------
def _secret_refs(resource: Resource) -> Iterator[tuple[str, str, str]]:
    """(field, secret reference, version) for every secret a v2 service or job reads."""
    for path, container in containers(resource):
        for index, env in enumerate(as_list(container.get("envs"))):
            ref = dig(env, "valueSource.secretKeyRef") if isinstance(env, Mapping) else None
            if isinstance(ref, Mapping) and isinstance(ref.get("secret"), str):
                version = ref.get("version")
                yield f"{path}.envs[{index}].valueSource.secretKeyRef", ref["secret"], version if isinstance(version, str) else "latest"
    base = revision_path(resource)
    for index, volume in enumerate(as_list(resource.get(f"{base}.volumes"))):
        secret = dig(volume, "secret") if isinstance(volume, Mapping) else None
        if not isinstance(secret, Mapping) or not isinstance(secret.get("secret"), str):
            continue
        items = [i for i in as_list(secret.get("items")) if isinstance(i, Mapping)]
        versions = [i.get("version") if isinstance(i.get("version"), str) else "latest" for i in items] or ["latest"]
        for version in versions:
            yield f"{base}.volumes[{index}].secret", secret["secret"], str(version)


def _secret_key(ref: str, default_project: str) -> tuple[str, str] | None:
    """(project, secret id) from "id", "projects/P/secrets/ID" (project number or id)."""
    if ref == UNKNOWN or not ref:
        return None
    match = re.fullmatch(r"projects/([^/]+)/secrets/([^/]+)", ref)
    if match:
        return match.group(1), match.group(2)
    if "/" in ref:
        return None
    return default_project, ref


def _declared_secrets(inventory: Inventory) -> dict[tuple[str, str], Resource]:
    found: dict[tuple[str, str], Resource] = {}
    for secret in inventory.of_type(SECRET):
        secret_id = secret.get("secretId")
        if isinstance(secret_id, str) and secret_id != UNKNOWN:
            found[(inventory.project_of(secret), secret_id)] = secret
    return found


def _secret_of(ref: str, resource: Resource, inventory: Inventory) -> Resource | None:
    key = _secret_key(ref, inventory.project_of(resource))
    return _declared_secrets(inventory).get(key) if key else None


@rule(
    "run-secret-undeclared", types=V2, severity=RISK,
    title="a service or job reads a Secret Manager secret the program does not create",
    source="https://cloud.google.com/run/docs/configuring/secrets",
)
def run_secret_undeclared(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "During service deployment, Cloud Run checks all the secrets you use": one that does not exist
    # (or has no version) fails the deploy, so it must be created before `pulumi up`.
    for field, ref, _version in _secret_refs(resource):
        if _secret_key(ref, inventory.project_of(resource)) is not None and _secret_of(ref, resource, inventory) is None:
            yield Problem(
                field, f"{resource.name} reads secret {ref!r}, which nothing in this program creates: it must exist, with a version, before the deploy",
                f"declare gcp.secretmanager.Secret(secret_id={ref!r}) and a SecretVersion, or create both before `pulumi up`",
            )


def _versions_of(secret: Resource, inventory: Inventory) -> list[Resource]:
    names = {secret.out("id"), secret.out("name"), secret.get("secretId")} - {None, UNKNOWN}
    secret_id = secret.get("secretId")
    found = []
    for version in inventory.of_type(SECRET_VERSION):
        target = version.get("secret")
        named = target in names or (isinstance(target, str) and isinstance(secret_id, str) and target.endswith(f"/secrets/{secret_id}"))
        # `secret=secret.id` carries the engine's resource id, known only as a dependency of that input.
        if named or secret.urn in version.declared.property_dependencies.get("secret", ()):
            found.append(version)
    return found


@rule(
    "run-secret-version-missing", types=V2, severity=BLOCKS,
    title="a service reads a secret version the first deploy does not create before it",
    source="https://github.com/hashicorp/terraform-provider-google/issues/10846",
)
def run_secret_version_missing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # A declared secret starts with no version: the first revision fails with "versions/latest was not
    # found" unless a SecretVersion exists before the service is created.
    for field, ref, version in _secret_refs(resource):
        secret = _secret_of(ref, resource, inventory)
        if secret is None or version == UNKNOWN:
            continue
        versions = [v for v in _versions_of(secret, inventory) if v.get("enabled") is not False]
        if not versions:
            yield Problem(
                field, f"{resource.name} reads {ref!r} at version {version!r}, but the program creates the secret with no version: "
                "the first revision fails (versions/latest was not found)",
                f"declare gcp.secretmanager.SecretVersion for {ref!r} and make {resource.name} depend on it, or add the version before `pulumi up`",
            )
        elif not any(inventory.waits_for(resource, v) for v in versions):
            yield Problem(
                field, f"{resource.name} reads {ref!r} but does not wait for its version ({versions[0].name}): on a first deploy the "
                "engine may create the service first and the revision fails",
                f"add depends_on=[{versions[0].name}] to {resource.name}",
            )


# https://cloud.google.com/iam/docs/roles-permissions/secretmanager: secretmanager.versions.access is in
# Secret Manager Secret Accessor and Secret Manager Admin (and the basic Owner role).
ACCESS_PERMISSION = "secretmanager.versions.access"
ACCESS_ROLES = frozenset({"roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner"})


def _role_grants_access(role: str, inventory: Inventory) -> bool | None:
    """True / False, or None when the role cannot be read (unknown, or a custom role not declared here)."""
    if not role:
        return None
    if role in ACCESS_ROLES:
        return True
    if role.startswith("roles/"):
        return False
    match = re.fullmatch(r"(?:projects|organizations)/[^/]+/roles/([^/]+)", role)
    for custom in inventory.of_type(CUSTOM_ROLE):
        if match and custom.get("roleId") == match.group(1) or custom.out("name") == role or custom.out("id") == role:
            permissions = custom.get("permissions")
            return None if is_unknown(permissions) else ACCESS_PERMISSION in as_list(permissions)
    return None


def _runtime_account(resource: Resource) -> str | None:
    key = "serviceAccountName" if resource.type == SERVICE_V1 else "serviceAccount"
    value = revision(resource).get(key)
    return value if isinstance(value, str) and value and value != UNKNOWN else None


def _access_grants(resource: Resource, secret: Resource, account: str, inventory: Inventory) -> tuple[list[Grant], bool]:
    """Grants that give ``account`` access to ``secret``, and whether some grant could not be read."""
    secret_id = secret.get("secretId")
    project = inventory.project_of(secret)
    member = f"serviceAccount:{account}"
    found: list[Grant] = []
    # Authoritative policies and grants above the project are not read as grants: they may hold the role.
    unreadable = bool(inventory.of_type(*UNREAD_IAM_TYPES))
    for grant in inventory.grants:
        if grant.scope == "secret":
            key = _secret_key(grant.target, inventory.project_of(grant.resource)) if grant.target else None
            on_secret = key == (project, secret_id) or grant.target in {secret.out("id"), secret.out("name")}
            if not grant.target:
                on_secret = secret.urn in inventory.direct_dependencies.get(grant.resource.urn, frozenset())
        elif grant.scope == "project":
            on_secret = grant.target in {project, ""}
        else:
            continue
        if not on_secret:
            continue
        if not grant.member:
            unreadable = True
            continue
        if grant.member != member:
            continue
        allowed = _role_grants_access(grant.role, inventory)
        if allowed is None:
            unreadable = True
        elif allowed:
            found.append(grant)
    return found, unreadable


@rule(
    "run-secret-accessor", types=V2, severity=BLOCKS,
    title="the runtime service account has no Secret Accessor grant on a secret it reads, or the service does not wait for it",
    source="https://cloud.google.com/run/docs/configuring/secrets",
)
def run_secret_accessor(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "During service deployment, all secrets used ... are checked to ensure the service account used to
    # run the container has access to them. If any check fails, the service deployment fails."
    # Certain only when both the account and the secret are created by this program: nothing outside
    # can have granted access to them before the deploy.
    account = _runtime_account(resource)
    if account is None or account not in inventory.service_account_emails:
        return
    seen: set[str] = set()
    for field, ref, _version in _secret_refs(resource):
        secret = _secret_of(ref, resource, inventory)
        if secret is None or secret.urn in seen:
            continue
        seen.add(secret.urn)
        grants, unreadable = _access_grants(resource, secret, account, inventory)
        if not grants:
            if not unreadable:
                yield Problem(
                    field, f"{resource.name} runs as {account}, which has no role with {ACCESS_PERMISSION} on secret {ref!r}: the deploy fails its secret check",
                    f"grant roles/secretmanager.secretAccessor on {ref!r} to serviceAccount:{account} and make {resource.name} depend on the grant",
                )
        elif not any(inventory.waits_for(resource, g.resource) for g in grants):
            yield Problem(
                field, f"{resource.name} does not wait for {grants[0].resource.name}, which lets {account} read {ref!r}: on a first deploy the "
                "service can be created before the grant and fail its secret check",
                f"add depends_on=[{grants[0].resource.name}] to {resource.name}",
            )


@rule(
    "run-default-service-account", types=ALL_RUN, severity=RISK,
    title="a service or job runs as the Compute Engine default service account",
    source="https://cloud.google.com/run/docs/configuring/service-accounts",
)
def run_default_service_account(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "By default, Cloud Run services or jobs run as the default Compute Engine service account."
    key = "serviceAccountName" if resource.type == SERVICE_V1 else "serviceAccount"
    value = revision(resource).get(key)
    if value is None or value == "":
        yield Problem(
            f"{revision_path(resource)}.{key}",
            f"{resource.name} sets no service account, so it runs as PROJECT_NUMBER-compute@developer.gserviceaccount.com, whose roles "
            "depend on the project (Editor by default, none where the organisation disables automatic grants)",
            f"create a dedicated gcp.serviceaccount.Account and set {key} to its email, granting it only what it needs",
        )


# --- Direct VPC egress -----------------------------------------------------------------------------------------
# https://cloud.google.com/run/docs/configuring/vpc-direct-vpc ("IP address allocation"): the subnet's IPv4
# range must be /26 or larger; if both network and subnetwork are given, the subnetwork must belong to that
# network (v2 VpcAccess.NetworkInterface); a subnet is regional, so it must be in the service's region.
# Egress values: ALL_TRAFFIC or PRIVATE_RANGES_ONLY (provider schema). Direct VPC egress and a Serverless VPC
# Access connector can't be used at the same time (https://cloud.google.com/functions/docs/running/direct-vpc).
SUBNET_MAX_PREFIX = 26
EGRESS_VALUES = frozenset({"ALL_TRAFFIC", "PRIVATE_RANGES_ONLY"})


def _last(value: Any) -> str | None:
    return value.rstrip("/").rsplit("/", 1)[-1] if isinstance(value, str) and value and value != UNKNOWN else None


def _subnetwork(ref: Any, inventory: Inventory) -> Resource | None:
    if not isinstance(ref, str) or not ref or ref == UNKNOWN:
        return None
    for subnet in inventory.of_type(SUBNETWORK):
        if ref in {subnet.out("selfLink"), subnet.out("id")} or _last(ref) == subnet.get("name"):
            return subnet
    return None


def _interfaces(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    base = f"{revision_path(resource)}.vpcAccess.networkInterfaces"
    return [(f"{base}[{i}]", n) for i, n in enumerate(as_list(resource.get(base))) if isinstance(n, Mapping)]


@rule(
    "run-vpc-subnet", types=V2, severity=BLOCKS,
    title="the Direct VPC egress subnet is smaller than /26, in another region or not in the given network",
    source="https://cloud.google.com/run/docs/configuring/vpc-direct-vpc",
)
def run_vpc_subnet(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for path, interface in _interfaces(resource):
        subnet = _subnetwork(interface.get("subnetwork"), inventory)
        if subnet is None and interface.get("subnetwork") is None:
            subnet = _subnetwork(interface.get("network"), inventory)  # no subnetwork: the one named like the network
        if subnet is None:
            continue
        cidr = subnet.get("ipCidrRange")
        try:
            network = ipaddress.ip_network(cidr, strict=False) if isinstance(cidr, str) else None
        except ValueError:
            network = None
        if network is not None and network.version == 4 and network.prefixlen > SUBNET_MAX_PREFIX:
            yield Problem(
                f"{path}.subnetwork", f"{resource.name} egresses through {subnet.name} ({cidr}); Direct VPC egress needs a /26 or larger IPv4 range",
                f"give {subnet.name} a /26 or larger ip_cidr_range (or use another subnet)",
            )
        region = subnet.get("region") or inventory.region
        location = location_of(resource, inventory)
        if isinstance(region, str) and region != UNKNOWN and location and region != location:
            yield Problem(
                f"{path}.subnetwork", f"{resource.name} is in {location} but its egress subnet {subnet.name} is in {region}",
                f"use a subnet in {location}",
            )
        network_ref, subnet_network = _last(interface.get("network")), _last(subnet.get("network"))
        if interface.get("subnetwork") is not None and network_ref and subnet_network and network_ref != subnet_network:
            yield Problem(
                f"{path}.network", f"{resource.name}: subnet {subnet.name} belongs to network {subnet_network}, not {network_ref}",
                "name the subnet's own network, or omit network",
            )


@rule(
    "run-vpc-egress", types=V2, severity=BLOCKS,
    title="VPC egress is not ALL_TRAFFIC or PRIVATE_RANGES_ONLY, or mixes a connector with Direct VPC egress",
    source="https://cloud.google.com/run/docs/configuring/vpc-direct-vpc",
)
def run_vpc_egress(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    base = f"{revision_path(resource)}.vpcAccess"
    egress = resource.get(f"{base}.egress")
    if isinstance(egress, str) and egress != UNKNOWN and egress not in EGRESS_VALUES:
        yield Problem(f"{base}.egress", f"{resource.name}: VPC egress {egress!r} is not a value Cloud Run takes", 'use "ALL_TRAFFIC" or "PRIVATE_RANGES_ONLY"')
    if resource.get(f"{base}.connector") and _interfaces(resource):
        yield Problem(
            f"{base}.connector", f"{resource.name} sets both a Serverless VPC Access connector and Direct VPC network interfaces",
            "keep one: network_interfaces (Direct VPC egress) or connector",
        )


# --- ingress and load balancers ------------------------------------------------------------------------------------
def _negs_for(resource: Resource, inventory: Inventory) -> list[Resource]:
    name = service_name(resource)
    found = []
    for neg in inventory.of_type(NEG):
        if neg.get("networkEndpointType") != "SERVERLESS":
            continue
        target = neg.get("cloudRun.service")
        region = neg.get("region") or inventory.region
        if name is not None and target == name and region == location_of(resource, inventory):
            found.append(neg)
        elif target == UNKNOWN and inventory.waits_for(neg, resource):
            found.append(neg)
    return found


def _backends_with(neg: Resource, inventory: Inventory) -> list[Resource]:
    names = {neg.out("id"), neg.out("selfLink"), neg.get("name")} - {None, UNKNOWN}
    found = []
    for backend in inventory.of_type(*BACKENDS):
        for item in as_list(backend.get("backends")):
            group = item.get("group") if isinstance(item, Mapping) else None
            if group in names or (isinstance(group, str) and _last(group) == neg.get("name")) or (
                neg.urn in backend.declared.property_dependencies.get("backends", ())  # group=neg.id: the engine's id
            ):
                found.append(backend)
                break
    return found


# https://cloud.google.com/run/docs/securing/ingress: "Internal" allows internal Application Load
# Balancers (and VPC sources), not the external Application Load Balancer, which needs "Internal and
# Cloud Load Balancing" or "All".
@rule(
    "run-ingress-lb", types=(SERVICE,), severity=BROKEN,
    title="a service with internal-only ingress is a backend of an external load balancer",
    source="https://cloud.google.com/run/docs/securing/ingress",
)
def run_ingress_lb(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if resource.get("ingress") != "INGRESS_TRAFFIC_INTERNAL_ONLY":
        return
    for neg in _negs_for(resource, inventory):
        for backend in _backends_with(neg, inventory):
            default = "EXTERNAL" if backend.type == BACKENDS[0] else "INTERNAL"
            if backend.get("loadBalancingScheme", default) in ("EXTERNAL", "EXTERNAL_MANAGED"):
                yield Problem(
                    "ingress", f"{resource.name} accepts internal traffic only, but {backend.name} (an external load balancer, through {neg.name}) "
                    "sends it requests: they are refused",
                    'set ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"',
                )
                return


@rule(
    "run-default-uri-unreachable", types=(SERVICE,), severity=BROKEN,
    title="the run.app URL is disabled and no load balancer or domain mapping reaches the service",
    source="https://cloud.google.com/run/docs/securing/ingress",
)
def run_default_uri_unreachable(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Ingress paths are the run.app URL, a domain mapping, or a load balancer; with the first disabled
    # and neither of the others, nothing can reach the service.
    if resource.get("defaultUriDisabled") is not True:
        return
    name = service_name(resource)
    if any(_backends_with(neg, inventory) for neg in _negs_for(resource, inventory)):
        return
    if any(m.get("spec.routeName") in (name, UNKNOWN) for m in inventory.of_type(DOMAIN_MAPPING)):
        return
    yield Problem(
        "defaultUriDisabled", f"{resource.name} disables its run.app URL, and no serverless NEG behind a backend service, nor a domain mapping, routes to it",
        "put it behind a load balancer (RegionNetworkEndpointGroup + BackendService), or leave default_uri_disabled unset",
    )


# --- images -------------------------------------------------------------------------------------------------
# https://cloud.google.com/run/docs/deploying ("Supported container registries and images"): Artifact
# Registry (LOCATION-docker.pkg.dev, and gcr.io hosted on it), Docker Hub, and public images from GitHub
# Container Registry; other registries only through an Artifact Registry remote repository.
_ALLOWED_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io", "gcr.io", "ghcr.io")


def _host_allowed(host: str) -> bool:
    return host == "" or host in _ALLOWED_HOSTS or host.endswith(".gcr.io") or host.endswith("-docker.pkg.dev") or host == "docker.pkg.dev"


def _images(resource: Resource) -> Iterator[tuple[str, str, ImageRef]]:
    for path, container in containers(resource):
        raw = container.get("image")
        ref = parse_image(raw)
        if ref is not None and isinstance(raw, str):
            yield f"{path}.image", raw, ref


@rule(
    "run-image-registry", types=ALL_RUN, severity=BLOCKS,
    title="an image is in a registry Cloud Run cannot pull from directly",
    source="https://cloud.google.com/run/docs/deploying",
)
def run_image_registry(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, raw, ref in _images(resource):
        if not _host_allowed(ref.host):
            yield Problem(
                field, f"{resource.name}: image {raw!r} is on {ref.host}; Cloud Run deploys from Artifact Registry, Docker Hub or GitHub Container Registry only",
                f"mirror it through an Artifact Registry remote repository for {ref.host} and use that path",
            )


@rule(
    "run-image-digest", types=ALL_RUN, severity=BLOCKS,
    title="an image digest is malformed or a placeholder (all zeros): the pull fails",
    source="https://cloud.google.com/artifact-registry/docs/docker/names",
)
def run_image_digest(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # IMAGE@IMAGE-DIGEST, the digest being the sha256 hash of the image contents.
    for field, raw, ref in _images(resource):
        if not ref.digest_ok:
            yield Problem(field, f"{resource.name}: image {raw!r} has a digest that is not sha256:<64 hex>", "use the digest the registry reports for the pushed image")
        elif ref.digest_placeholder:
            yield Problem(
                field, f"{resource.name}: image {raw!r} has an all-zero digest, a placeholder no image has: the deploy fails to pull it",
                "replace it with the real digest (`gcloud artifacts docker images describe IMAGE:TAG --format='value(image_summary.digest)'`)",
            )


@rule(
    "run-image-repo-missing", types=ALL_RUN, severity=BLOCKS,
    title="an image in this project's Artifact Registry points at a repository the program does not create, or one nothing pushes the image to",
    source="https://cloud.google.com/run/docs/deploying",
)
def run_image_repo_missing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "If you use Artifact Registry, the repository REPO_NAME must already be created" (same page's
    # command reference). In this project, on a fresh deploy, only the program can have created it; a
    # repository the program creates starts empty unless the program also pushes the image.
    project = inventory.project_of(resource)
    for field, raw, ref in _images(resource):
        project_repo = ref.ar_project_repo
        if project_repo is None or project_repo[0] != project:
            continue
        repo = repository_of(ref, inventory)
        if repo is None:
            yield Problem(
                field, f"{resource.name}: image {raw!r} is in repository {project_repo[1]!r} ({ref.ar_location}) of this project, which the program "
                "does not create: on a fresh project the pull fails",
                f"declare gcp.artifactregistry.Repository(repository_id={project_repo[1]!r}, location={ref.ar_location!r}, format=\"DOCKER\") and push "
                "the image, or point the image at a registry that already holds it",
            )
            continue
        if repo.get("mode") in ("REMOTE_REPOSITORY", "VIRTUAL_REPOSITORY"):
            continue  # pulled through from its upstream (or other repositories) on demand: never "empty"
        pushed = [img for img, target in pushed_images(inventory) if target.host == ref.host and target.path == ref.path]
        if not pushed:
            yield Problem(
                field, f"{resource.name}: image {raw!r} is in {repo.name}, which this deploy creates empty, and nothing in the program pushes it",
                "build and push it in the program (docker.Image) and reference its repo_digest, or push it before the service is created",
            )


@rule(
    "run-image-untagged", types=ALL_RUN, severity=RISK,
    title="an image has no tag or digest (latest implied): new pushes never roll out",
    source="https://cloud.google.com/artifact-registry/docs/docker/names",
)
def run_image_untagged(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "If you don't specify a tag or a digest, Artifact Registry looks for the image with the default tag
    # latest"; Cloud Run resolves a tag to a digest when the revision is created, so the service input
    # never changes when a new image is pushed under the same tag.
    for field, raw, ref in _images(resource):
        if ref.floating:
            yield Problem(
                field, f"{resource.name}: image {raw!r} has no digest and no tag other than latest: a new push does not change the service, so it never rolls out",
                "reference the image by digest (IMAGE@sha256:...) or by a tag that changes with every build",
            )


# --- scaling ---------------------------------------------------------------------------------------------------
@rule(
    "run-scaling-bounds", types=(SERVICE,), severity=BLOCKS,
    title="maximum instances is below minimum instances, or a count is negative",
    source="https://github.com/goblet/goblet/issues/287",
)
def run_scaling_bounds(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # The API: "template.scaling.max_instance_count: must be greater or equal than min_instance_count".
    for base in ("template.scaling", "scaling"):
        low = number(resource.get(f"{base}.minInstanceCount"))
        high = number(resource.get(f"{base}.maxInstanceCount"))
        for key, value in (("minInstanceCount", low), ("maxInstanceCount", high), ("manualInstanceCount", number(resource.get(f"{base}.manualInstanceCount")))):
            if value is not None and value < 0:
                yield Problem(f"{base}.{key}", f"{resource.name}: {base}.{key}={value:g} is negative", f"set {key} to 0 or more")
        if low is not None and high is not None and high > 0 and high < low:
            yield Problem(
                f"{base}.maxInstanceCount", f"{resource.name}: {base}.maxInstanceCount {high:g} is below minInstanceCount {low:g}",
                "raise max_instance_count to at least min_instance_count",
            )


@rule(
    "run-scaling-utilization", types=(SERVICE,), severity=BLOCKS,
    title="a scaling utilization target is outside 0.1-0.95 (or 0 to disable), or both are disabled",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/cloudrunv2/service/",
)
def run_scaling_utilization(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # Provider doc (template.scaling): cpuUtilization and concurrencyUtilization: "Accepted values are
    # between 0.1 and 0.95 (inclusive) or 0.0 to disable ... CPU and concurrency scaling cannot both be disabled."
    values: dict[str, float | None] = {}
    for key in ("cpuUtilization", "concurrencyUtilization"):
        value = number(resource.get(f"template.scaling.{key}"))
        values[key] = value
        if value is not None and value != 0 and not 0.1 <= value <= 0.95:
            yield Problem(f"template.scaling.{key}", f"{resource.name}: {key}={value:g}; accepted values are 0.1 to 0.95, or 0 to disable", f"set {key} between 0.1 and 0.95")
    if values["cpuUtilization"] == 0 and values["concurrencyUtilization"] == 0:
        yield Problem("template.scaling", f"{resource.name}: CPU and concurrency utilization are both disabled (0)", "leave one of them enabled")


@stack_rule(
    "run-image-pushed-after", severity=BLOCKS, types=(SERVICE, JOB),
    title="a service uses an image the program pushes but does not wait for the push",
    source="https://cloud.google.com/run/docs/deploying",
)
def run_image_pushed_after(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    # The image must be in the registry when the revision is created; a literal image path the program
    # pushes with docker.Image is not a dependency unless the service names the Image's output or waits for it.
    pushed = pushed_images(inventory)
    for resource in inventory.of_type(*ALL_RUN):
        for field, raw, ref in _images(resource):
            if ref.ar_project_repo is None:
                continue
            for image, target in pushed:
                if target.host == ref.host and target.path == ref.path and not inventory.waits_for(resource, image):
                    yield resource, Problem(
                        field, f"{resource.name} uses {raw!r}, pushed by {image.name}, without waiting for the push: on a first deploy "
                        "the revision can be created before the image exists",
                        f"reference {image.name}.repo_digest as the image (it also rolls out new builds), or add depends_on=[{image.name}]",
                    )
                    break
