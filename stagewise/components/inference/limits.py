"""GCP's constraints on each inference mode, and the pure helpers that apply them.

No Pulumi import: the stack config calls these checks (stagewise.stacks.config.inference) so a bad
configuration fails before any resource is declared, without loading the provider.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# --- GCP facts ------------------------------------------------------------------------------
# Cloud Run GPU (https://cloud.google.com/run/docs/configuring/services/gpu): one L4 per instance,
# at least 4 vCPU and 16 GiB, CPU always allocated (instance-based billing), and the project must be
# granted "Total Nvidia L4 GPU allocation, per project per region" quota under the Cloud Run Admin
# API before the first deploy. The region list has grown over time; the page's current version
# lists asia-southeast1, asia-south1 (by invitation only), europe-west1, europe-west4, us-central1
# and us-east4 (Northern Virginia) — earlier copies of the page listed fewer.
CLOUD_RUN_GPU_REGIONS: frozenset[str] = frozenset(
    {"us-central1", "us-east4", "europe-west1", "europe-west4", "asia-southeast1", "asia-south1"}
)
# Startup probe bounds for Cloud Run services: initialDelaySeconds and periodSeconds at most 240
# each (Cloud Run Admin API v2, Probe), and failureThreshold × periodSeconds at most 240 s
# (https://cloud.google.com/run/docs/configuring/healthchecks). The longest window a startup probe
# gives is therefore 240 + 240 = 480 s; the GPU service uses all of it.
STARTUP_PROBE_MAX_DELAY_S = 240
STARTUP_PROBE_MAX_FAILURE_WINDOW_S = 240
# Where a gs:// model is mounted (Cloud Storage volume, read-only; Cloud Storage FUSE reads objects
# in place rather than downloading them first:
# https://cloud.google.com/run/docs/configuring/services/cloud-storage-volume-mounts). Google's GPU
# best practices name baking the model into the image or loading it from Cloud Storage
# (https://cloud.google.com/run/docs/configuring/services/gpu-best-practices).
WEIGHTS_MOUNT = "/models"
# Artifact Registry remote repository that proxies and caches Docker Hub in the project, so Cloud Run
# pulls docker.io images (vLLM) from Google's network with no manual mirroring
# (https://cloud.google.com/artifact-registry/docs/repositories/remote-repo). Cloud Run's service
# agent may pull from repositories of its own project by default; only the deployer needs
# Artifact Registry Reader (https://cloud.google.com/artifact-registry/docs/integrate-cloud-run).
DOCKER_HUB_REMOTE_REPOSITORY = "dockerhub"
CLOUD_RUN_GPU_MIN_CPU = 4
CLOUD_RUN_MAX_CPU = 8
CLOUD_RUN_GPU_MIN_MEMORY_GIB = 16
CLOUD_RUN_MAX_MEMORY_GIB = 32
# Each instance holds a whole L4 from the per-region quota: keep the ceiling low and deliberate.
CLOUD_RUN_GPU_MAX_INSTANCES = 10

# Pinned images of vLLM's OpenAI-compatible server (GPU: Docker Hub; CPU: vLLM's CPU release repository).
DEFAULT_GPU_SERVER_IMAGE = "docker.io/vllm/vllm-openai:v0.10.1"
DEFAULT_CPU_SERVER_IMAGE = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.1"
SERVER_PORT = 8000
HEALTH_PATH = "/health"

# Compute Engine accelerator -> machine family that carries it
# (https://cloud.google.com/compute/docs/gpus, read 2026-11-23).
VM_ACCELERATOR_FAMILY: Mapping[str, str] = {"nvidia-l4": "g2", "nvidia-tesla-t4": "n1"}
DEFAULT_VM_MACHINE: Mapping[str, str] = {"nvidia-l4": "g2-standard-8", "nvidia-tesla-t4": "n1-standard-8", "none": "n2-standard-8"}
GPU_MACHINE_FAMILIES = frozenset({"g2", "a2", "a3", "a4"})
# G2 machine types have a fixed number of L4s.
G2_GPUS: Mapping[str, int] = {
    "g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1, "g2-standard-32": 1,
    "g2-standard-24": 2, "g2-standard-48": 4, "g2-standard-96": 8,
}
# Vertex AI accelerator -> machine type prefix it is offered on.
VERTEX_ACCELERATORS: Mapping[str, str] = {
    "NVIDIA_L4": "g2-",
    "NVIDIA_TESLA_T4": "n1-",
    "NVIDIA_TESLA_A100": "a2-highgpu-",
    "NVIDIA_A100_80GB": "a2-ultragpu-",
    "NVIDIA_H100_80GB": "a3-highgpu-",
}
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
COS_IMAGE = "projects/cos-cloud/global/images/family/cos-stable"
# Google's build of the OpenTelemetry Collector, run on COS next to vLLM to scrape its Prometheus
# metrics into Managed Service for Prometheus: COS has no Ops Agent
# (https://cloud.google.com/logging/docs/agent/ops-agent#supported_operating_systems;
# https://cloud.google.com/stackdriver/docs/instrumentation/opentelemetry-collector-cos).
COLLECTOR_IMAGE = "us-docker.pkg.dev/cloud-ops-agents-artifacts/google-cloud-opentelemetry-collector/otelcol-google:0.130.0"
PROMETHEUS_JOB = "vllm"


def docker_hub_path(image: str) -> str | None:
    """The repository path of a Docker Hub image (``vllm/vllm-openai:v1``), or None for other registries.

    Docker's own rules: the first path part names a registry only when it has a dot or a colon or
    is ``localhost``; single names are official images under ``library/``.
    """
    first, _, rest = image.partition("/")
    if rest and (first in ("docker.io", "index.docker.io", "registry-1.docker.io")):
        image = rest
    elif rest and ("." in first or ":" in first or first == "localhost"):
        return None
    return image if "/" in image.split("@", 1)[0].split(":", 1)[0] else f"library/{image}"


def gcs_model(model: str) -> tuple[str, str] | None:
    """(bucket, path) of a ``gs://bucket/path`` model, or None for a Hugging Face id."""
    if not model.startswith("gs://"):
        return None
    bucket, _, path = model[len("gs://"):].partition("/")
    return bucket, path.strip("/")


def _gib(memory: str) -> float:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", memory)
    if not match:
        raise ValueError(f"memory {memory!r}: write it like 16Gi or 32768Mi")
    return int(match.group(1)) / (1024 if match.group(2) == "Mi" else 1)


def _machine_gpus(machine_type: str) -> int | None:
    """GPUs a machine type comes with, when the type fixes it (g2 table, a2/a3 `-Ng` suffix)."""
    if machine_type in G2_GPUS:
        return G2_GPUS[machine_type]
    match = re.fullmatch(r"a[234]-[a-z]+gpu-(\d+)g", machine_type)
    return int(match.group(1)) if match else None


def _check_replicas(low_key: str, low: int, high_key: str, high: int) -> None:
    if high < low:
        raise ValueError(f"{high_key} ({high}) is below {low_key} ({low}); raise {high_key} or lower {low_key}")


# A Private Service Connect endpoint is reached at the IP of a forwarding rule that Vertex AI's PSC
# automation creates in the VPC and reports only as an output of the endpoint
# (PSCAutomationConfig.ip_address / PscAutomatedEndpoints.match_address); its DNS name resolves only
# through a private DNS zone you create for it
# (https://cloud.google.com/vertex-ai/docs/predictions/private-service-connect). The Model Garden
# deployment resource exposes neither, so the app could only be given the public dedicated URL,
# which a PSC-only endpoint does not answer on. Refused rather than deployed unreachable.
VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED = (
    "a private (Private Service Connect) Vertex AI endpoint is not supported: its address is known only after Vertex AI "
    "creates the forwarding rule, so the chat service could not be pointed at it. Remove privateEndpoint (the dedicated "
    "endpoint is reached over TLS and only callers granted aiplatform.user on it may predict), or use mode cloudrun-gpu "
    "or gpu-vm to keep the model inside the VPC"
)


def check_vertex(
    *, model: str, machine_type: str, accelerator_type: str, accelerator_count: int,
    min_replicas: int, max_replicas: int, accept_eula: bool,
) -> None:
    """Vertex AI dedicated resources: a known GPU on the machine family that carries it."""
    prefix = VERTEX_ACCELERATORS.get(accelerator_type)
    if prefix is None:
        raise ValueError(f"acceleratorType {accelerator_type!r} is not offered for Vertex AI serving; use one of {', '.join(VERTEX_ACCELERATORS)}")
    if not machine_type.startswith(prefix):
        raise ValueError(f"acceleratorType {accelerator_type} runs on {prefix}* machines, not {machine_type!r}; change machineType to a {prefix}* type")
    fixed = _machine_gpus(machine_type)
    if fixed is not None and fixed != accelerator_count:
        raise ValueError(f"machineType {machine_type} has {fixed} GPU(s), not acceleratorCount {accelerator_count}; set acceleratorCount: {fixed}")
    if min_replicas < 1:
        raise ValueError("minReplicas must be at least 1: a Vertex AI deployment cannot scale to zero (use mode cloudrun-gpu for that)")
    _check_replicas("minReplicas", min_replicas, "maxReplicas", max_replicas)
    if model.startswith("publishers/") and not accept_eula:
        raise ValueError(f"{model} is a Model Garden publisher model with a licence; read it and set acceptEula: true")


def check_gpu_vm(
    *, accelerator: str, accelerator_count: int, machine_type: str, min_replicas: int, max_replicas: int,
    zones: Sequence[str], region: str | None,
) -> None:
    """Compute Engine: the GPU matches the machine family; zones lie in the region."""
    family = machine_type.split("-", 1)[0]
    if accelerator == "none":
        if family in GPU_MACHINE_FAMILIES:
            raise ValueError(f"machineType {machine_type} comes with GPUs but accelerator is none; use a CPU type such as n2-standard-8 or set accelerator")
    else:
        wanted = VM_ACCELERATOR_FAMILY[accelerator]
        if family != wanted:
            raise ValueError(f"accelerator {accelerator} runs on {wanted}-* machines, not {machine_type!r}; set machineType to {DEFAULT_VM_MACHINE[accelerator]} or similar")
        fixed = _machine_gpus(machine_type)
        if fixed is not None and fixed != accelerator_count:
            raise ValueError(f"machineType {machine_type} has {fixed} GPU(s), not acceleratorCount {accelerator_count}; set acceleratorCount: {fixed}")
        if accelerator == "nvidia-tesla-t4" and accelerator_count not in (1, 2, 4):
            raise ValueError(f"acceleratorCount {accelerator_count}: n1 machines take 1, 2 or 4 T4s")
    _check_replicas("minReplicas", min_replicas, "maxReplicas", max_replicas)
    regions = {zone.rsplit("-", 1)[0] for zone in zones}
    for zone in zones:
        if not re.fullmatch(r"[a-z]+-[a-z]+\d+-[a-z]", zone):
            raise ValueError(f"zone {zone!r} is not a zone name; write it like us-central1-a")
    if len(regions) > 1 or (region and regions and regions != {region}):
        raise ValueError(f"zones {list(zones)} must all lie in the inference region {region or sorted(regions)[0]}; fix zones or region")


def check_cloudrun_gpu(*, region: str | None, cpu: int, memory: str, min_instances: int, max_instances: int) -> None:
    """Cloud Run's GPU rules, each with the fix."""
    if region is not None and region not in CLOUD_RUN_GPU_REGIONS:
        raise ValueError(f"region {region!r} has no Cloud Run GPUs; use one of {', '.join(sorted(CLOUD_RUN_GPU_REGIONS))}")
    if not CLOUD_RUN_GPU_MIN_CPU <= cpu <= CLOUD_RUN_MAX_CPU:
        raise ValueError(f"cpu {cpu}: a Cloud Run GPU instance needs {CLOUD_RUN_GPU_MIN_CPU} to {CLOUD_RUN_MAX_CPU} vCPUs; set cpu: {CLOUD_RUN_GPU_MIN_CPU} or more")
    gib = _gib(memory)
    if not CLOUD_RUN_GPU_MIN_MEMORY_GIB <= gib <= CLOUD_RUN_MAX_MEMORY_GIB:
        raise ValueError(f"memory {memory}: a Cloud Run GPU instance needs {CLOUD_RUN_GPU_MIN_MEMORY_GIB}Gi to {CLOUD_RUN_MAX_MEMORY_GIB}Gi; set memory: 16Gi or more")
    _check_replicas("minInstances", min_instances, "maxInstances", max_instances)
    if max_instances > CLOUD_RUN_GPU_MAX_INSTANCES:
        raise ValueError(
            f"maxInstances {max_instances}: every instance holds a whole L4 from the regional GPU quota; "
            f"keep it at {CLOUD_RUN_GPU_MAX_INSTANCES} or below (and request quota for what you set)"
        )


def default_vm_machine_type(accelerator: str) -> str:
    return DEFAULT_VM_MACHINE[accelerator]
