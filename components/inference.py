"""InferenceEndpoint: where the model runs, and what a caller needs to reach it.

Four modes share one small interface:

- `client_env`: the environment the chat app reads to call the model — `CHAT_OPENAI_BASE_URL` /
  `CHAT_OPENAI_MODEL` for a self-hosted OpenAI-compatible server, `CHAT_VERTEX_MODEL`,
  `CHAT_FALLBACK_MODEL`, `CHAT_VERTEX_LOCATION`, `CHAT_VERTEX_PROJECT` for Gemini.
- `authorize(caller, member)`: the least grants a caller needs, at resource level where GCP has it
  (invoker on the GPU Cloud Run service, aiplatform.user on the Vertex endpoint), the project
  only where it has not (Gemini publisher models).

The `check_*` functions hold GCP's constraints for each mode; the stack config calls them too, so a
bad configuration fails before any resource is declared.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import cloudrunv2, compute, vertex

from stagewise.components.chat_service import VpcEgress
from stagewise.components.iam import Grant, ProjectRole, SecretRole, declare_grants

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


# --- modes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GeminiFallback:
    """The managed model the app falls back to when the self-hosted one fails."""

    model: str
    location: str


@dataclass(frozen=True)
class ManagedModel:
    """A Google-hosted model called over the Vertex AI API (nothing deployed by us)."""

    model: str
    location: str
    fallback_model: str | None = None


@dataclass(frozen=True)
class VertexModelGarden:
    """A Model Garden model on a Vertex AI endpoint with dedicated GPUs."""

    model: str
    region: str
    machine_type: str = "g2-standard-12"
    accelerator_type: str = "NVIDIA_L4"
    accelerator_count: int = 1
    min_replicas: int = 1
    max_replicas: int = 2
    accept_eula: bool = False
    spot: bool = False
    private_network: pulumi.Input[str] | None = None
    served_model_name: str | None = None
    fallback: GeminiFallback | None = None

    def __post_init__(self) -> None:
        check_vertex(
            model=self.model, machine_type=self.machine_type, accelerator_type=self.accelerator_type,
            accelerator_count=self.accelerator_count, min_replicas=self.min_replicas,
            max_replicas=self.max_replicas, accept_eula=self.accept_eula,
        )
        if self.private_network is not None:
            raise ValueError(VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED)


@dataclass(frozen=True)
class PrivateNetwork:
    """Where the VMs live and who may reach them (the callers' egress ranges)."""

    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    client_ranges: tuple[str, ...]
    # The VPC baseline opens Google's health-check ranges to this tag on the server port.
    health_check_tag: str = "lb-backend"


@dataclass(frozen=True)
class WorkingHours:
    cron: str
    duration_hours: int
    time_zone: str = "UTC"


@dataclass(frozen=True)
class GpuVmPool:
    """vLLM on a regional managed instance group behind an internal passthrough load balancer."""

    model: str
    region: str
    network: PrivateNetwork
    accelerator: Literal["nvidia-l4", "nvidia-tesla-t4", "none"] = "nvidia-l4"
    accelerator_count: int = 1
    machine_type: str | None = None
    min_replicas: int = 1
    max_replicas: int = 2
    zones: tuple[str, ...] = ()
    spot: bool = False
    boot_disk_gb: int = 100
    server_image: str | None = None
    max_model_len: int | None = None
    port: int = SERVER_PORT
    schedule: WorkingHours | None = None
    served_model_name: str | None = None
    hf_token_secret: str | None = None
    fallback: GeminiFallback | None = None
    # Callers in other regions (multi-region prod) reach the internal LB only with global access.
    global_access: bool = False

    def __post_init__(self) -> None:
        check_gpu_vm(
            accelerator=self.accelerator, accelerator_count=self.accelerator_count, machine_type=self.machine,
            min_replicas=self.min_replicas, max_replicas=self.max_replicas, zones=self.zones, region=self.region,
        )
        if not self.network.client_ranges:
            raise ValueError("network.client_ranges is empty: name the subnet ranges the chat service egresses from")

    @property
    def machine(self) -> str:
        return self.machine_type or default_vm_machine_type(self.accelerator)

    @property
    def image(self) -> str:
        if self.server_image:
            return self.server_image
        return DEFAULT_CPU_SERVER_IMAGE if self.accelerator == "none" else DEFAULT_GPU_SERVER_IMAGE


@dataclass(frozen=True)
class CloudRunGpu:
    """vLLM on a Cloud Run service with one NVIDIA L4 per instance.

    ``model`` is a Hugging Face id (downloaded at each cold start, through Cloud NAT when the service
    egresses through the VPC) or ``gs://bucket/path`` of a copy of the weights, mounted read-only
    from Cloud Storage at ``/models/path`` so a cold start reads them over Google's network
    (``served_model_name`` is then required). A Docker Hub ``server_image`` is pulled through a
    remote Artifact Registry repository in the project, declared here.
    """

    model: str
    region: str
    service_name: str = "inference"
    cpu: int = 8
    memory: str = "32Gi"
    min_instances: int = 0
    max_instances: int = 1
    concurrency: int = 16
    gpu_zonal_redundancy: bool = False
    server_image: str = DEFAULT_GPU_SERVER_IMAGE
    max_model_len: int | None = None
    internal_only: bool = True
    # Direct VPC egress (model downloads through Cloud NAT, nothing straight to the internet).
    vpc_egress: VpcEgress | None = None
    deletion_protection: bool = False
    served_model_name: str | None = None
    hf_token_secret: str | None = None
    fallback: GeminiFallback | None = None

    remote_repository: str = DOCKER_HUB_REMOTE_REPOSITORY

    def __post_init__(self) -> None:
        check_cloudrun_gpu(
            region=self.region, cpu=self.cpu, memory=self.memory,
            min_instances=self.min_instances, max_instances=self.max_instances,
        )
        weights = gcs_model(self.model)
        if weights is not None and not (weights[0] and weights[1]):
            raise ValueError(f"model {self.model!r}: write a Cloud Storage copy of the weights as gs://BUCKET/PATH")
        if weights is not None and not self.served_model_name:
            raise ValueError(f"model {self.model!r} is a Cloud Storage path: set served_model_name (the name the API answers to)")


InferenceMode = Union[ManagedModel, VertexModelGarden, GpuVmPool, CloudRunGpu]
MODE_NAMES: Mapping[type, str] = {
    ManagedModel: "managed", VertexModelGarden: "vertex", GpuVmPool: "gpu-vm", CloudRunGpu: "cloudrun-gpu",
}


@dataclass
class InferenceEndpointArgs:
    project: pulumi.Input[str]
    mode: InferenceMode
    labels: Mapping[str, str] = field(default_factory=dict)


def vllm_args(model: str, served_name: str, port: int, max_model_len: int | None, gpus: int) -> list[str]:
    """Arguments of vLLM's OpenAI-compatible server for one model."""
    args = ["--model", model, "--served-model-name", served_name, "--host", "0.0.0.0", "--port", str(port)]
    if max_model_len:
        args += ["--max-model-len", str(max_model_len)]
    if gpus > 1:
        args += ["--tensor-parallel-size", str(gpus)]
    return args


COLLECTOR_DIR = "/mnt/stateful_partition/otelcol"


def collector_config(port: int, job: str = PROMETHEUS_JOB) -> str:
    """OpenTelemetry Collector config: scrape vLLM's /metrics on this VM into Managed Prometheus.

    The googlemanagedprometheus exporter writes the scrape job as the series' ``job`` label, which
    the gpu-vm alert queries select on (stagewise/components/alerting.py).
    """
    return "\n".join([
        "receivers:",
        "  prometheus:",
        "    config:",
        "      scrape_configs:",
        f"        - job_name: {job}",
        "          scrape_interval: 30s",
        "          static_configs:",
        f"            - targets: ['localhost:{port}']",
        "processors:",
        "  resourcedetection:",
        "    detectors: [gcp]",
        "  batch: {}",
        "exporters:",
        "  googlemanagedprometheus: {}",
        "service:",
        "  pipelines:",
        "    metrics:",
        "      receivers: [prometheus]",
        "      processors: [resourcedetection, batch]",
        "      exporters: [googlemanagedprometheus]",
        "",
    ])


def startup_script(pool: GpuVmPool, served_name: str, project: str, job: str = PROMETHEUS_JOB) -> str:
    """Container-Optimized OS boot script: host firewall, GPU driver (if any), optional HF token, the
    vLLM container, and the metrics collector beside it. COS runs it on every boot."""
    gpus = 0 if pool.accelerator == "none" else pool.accelerator_count
    lines = ["#!/bin/bash", "set -euo pipefail"]
    # COS's host firewall accepts inbound SSH only; with --network host Docker opens nothing, so the
    # server port must be opened with iptables, on every boot since the rules do not persist
    # (https://cloud.google.com/container-optimized-os/docs/how-to/firewall). The VPC firewall
    # still limits who reaches it (callers' ranges and Google's health checkers).
    lines += [
        "# COS host firewall: admit the model server port (rules do not survive a reboot; this runs at each boot).",
        f"iptables -w -C INPUT -p tcp --dport {pool.port} -j ACCEPT 2>/dev/null || iptables -w -A INPUT -p tcp --dport {pool.port} -j ACCEPT",
    ]
    docker = ["docker", "run", "-d", "--name", "vllm", "--restart", "always", "--network", "host",
              "-v", "/mnt/stateful_partition/hf-cache:/root/.cache/huggingface"]
    if gpus:
        lines += [
            "# The NVIDIA driver COS ships for this kernel, made executable for containers.",
            "cos-extensions install gpu -- --version=latest",
            "mount --bind /var/lib/nvidia /var/lib/nvidia",
            "mount -o remount,exec /var/lib/nvidia",
        ]
        docker += ["-v", "/var/lib/nvidia/lib64:/usr/local/nvidia/lib64", "-v", "/var/lib/nvidia/bin:/usr/local/nvidia/bin",
                   "--device", "/dev/nvidia-uvm", "--device", "/dev/nvidiactl"]
        docker += [arg for index in range(gpus) for arg in ("--device", f"/dev/nvidia{index}")]
    else:
        docker += ["-e", "VLLM_CPU_KVCACHE_SPACE=4"]
    lines.append("mkdir -p /mnt/stateful_partition/hf-cache")
    if pool.hf_token_secret:
        # Read the token with the VM's own identity; it never appears in metadata or state.
        url = f"https://secretmanager.googleapis.com/v1/projects/{project}/secrets/{pool.hf_token_secret}/versions/latest:access"
        lines += [
            "TOKEN=$(curl -sf -H 'Metadata-Flavor: Google' "
            "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token "
            "| sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
            f"export HF_TOKEN=$(curl -sf -H \"Authorization: Bearer $TOKEN\" {shlex.quote(url)} "
            "| sed -E 's/.*\"data\": *\"([^\"]+)\".*/\\1/' | base64 -d)",
        ]
        docker += ["-e", "HF_TOKEN"]
    lines.append("docker rm -f vllm >/dev/null 2>&1 || true")
    command = docker + [pool.image] + vllm_args(pool.model, served_name, pool.port, pool.max_model_len, gpus)
    lines.append(" ".join(shlex.quote(part) for part in command))
    # vLLM's Prometheus metrics -> Managed Service for Prometheus, as the VM's own service account
    # (roles/monitoring.metricWriter). Scrapes localhost, so the host firewall needs no other port.
    lines += [
        "# Metrics: the OpenTelemetry Collector scrapes vLLM's /metrics for the alert policies.",
        f"mkdir -p {COLLECTOR_DIR}",
        f"cat > {COLLECTOR_DIR}/config.yaml <<'OTELCOL'",
        collector_config(pool.port, job).rstrip("\n"),
        "OTELCOL",
        "docker rm -f otelcol >/dev/null 2>&1 || true",
        " ".join(shlex.quote(part) for part in [
            "docker", "run", "-d", "--name", "otelcol", "--restart", "always", "--network", "host",
            "-v", f"{COLLECTOR_DIR}:/etc/otelcol-google:ro", COLLECTOR_IMAGE, "--config=/etc/otelcol-google/config.yaml",
        ]),
    ]
    return "\n".join(lines) + "\n"


class InferenceEndpoint(pulumi.ComponentResource):
    """The model a chat service calls: managed Gemini, Vertex AI, a GPU VM pool, or Cloud Run with a GPU."""

    def __init__(self, name: str, args: InferenceEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:InferenceEndpoint", name, None, opts)
        self._name = name
        self._project = args.project
        self._labels = dict(args.labels)
        mode = args.mode
        self.mode = mode
        self.mode_name = MODE_NAMES[type(mode)]
        self.client_env: dict[str, pulumi.Input[str]] = {}
        self.client_grants: list[Grant] = []
        self.base_url: pulumi.Output[str] | None = None
        self._endpoint_id: pulumi.Output[str] | None = None
        self._gpu_service: cloudrunv2.Service | None = None
        self.resources: dict[str, pulumi.Resource] = {}
        # What monitoring filters on for this model: Vertex endpoint id, GPU service name, VM name prefix.
        self.metrics_target: pulumi.Input[str] | None = None

        if isinstance(mode, ManagedModel):
            self._managed(mode)
        else:
            served = mode.served_model_name or mode.model
            if isinstance(mode, VertexModelGarden):
                self.base_url = self._vertex(name, mode)
            elif isinstance(mode, GpuVmPool):
                self.base_url = self._gpu_vm(name, mode, served)
            else:
                self.base_url = self._cloudrun_gpu(name, mode, served)
            self.client_env["CHAT_OPENAI_BASE_URL"] = self.base_url
            self.client_env["CHAT_OPENAI_MODEL"] = served
            # How the app proves its identity to the server: Vertex wants an OAuth access token, a
            # private Cloud Run service an ID token for its URL; the internal LB of gpu-vm neither.
            if isinstance(mode, VertexModelGarden):
                self.client_env["CHAT_OPENAI_AUTH"] = "google-access-token"
            elif self._gpu_service is not None:
                self.client_env["CHAT_OPENAI_AUTH"] = "google-id-token"
                self.client_env["CHAT_OPENAI_AUDIENCE"] = self._gpu_service.uri
            if mode.fallback is not None:
                self._gemini_env(mode.fallback.location)
                self.client_env["CHAT_FALLBACK_MODEL"] = mode.fallback.model
        outputs: dict[str, object] = {"mode": self.mode_name, "model": mode.model}
        if self.base_url is not None:
            outputs["base_url"] = self.base_url
        self.register_outputs(outputs)

    # managed --------------------------------------------------------------------------------
    def _gemini_env(self, location: str) -> None:
        self.client_env["CHAT_VERTEX_LOCATION"] = location
        self.client_env["CHAT_VERTEX_PROJECT"] = self._project
        # Vertex AI has no resource-level IAM for publisher models: the project role is the narrowest.
        self.client_grants.append(ProjectRole("roles/aiplatform.user"))

    def _managed(self, mode: ManagedModel) -> None:
        self.client_env["CHAT_VERTEX_MODEL"] = mode.model
        self._gemini_env(mode.location)
        if mode.fallback_model:
            self.client_env["CHAT_FALLBACK_MODEL"] = mode.fallback_model

    # vertex ---------------------------------------------------------------------------------
    def _vertex(self, name: str, mode: VertexModelGarden) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        publisher = mode.model if mode.model.startswith("publishers/") else None
        deployment = vertex.AiEndpointWithModelGardenDeployment(
            name,
            project=self._project,
            location=mode.region,
            publisher_model_name=publisher,
            hugging_face_model_id=None if publisher else mode.model,
            model_config=vertex.AiEndpointWithModelGardenDeploymentModelConfigArgs(
                accept_eula=mode.accept_eula, model_display_name=f"{name}-model"
            ),
            endpoint_config=vertex.AiEndpointWithModelGardenDeploymentEndpointConfigArgs(
                endpoint_display_name=name,
                # A dedicated endpoint gets its own DNS name and no noisy neighbours on the shared API front end.
                dedicated_endpoint_enabled=True,
            ),
            deploy_config=vertex.AiEndpointWithModelGardenDeploymentDeployConfigArgs(
                dedicated_resources=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesArgs(
                    machine_spec=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesMachineSpecArgs(
                        machine_type=mode.machine_type,
                        accelerator_type=mode.accelerator_type,
                        accelerator_count=mode.accelerator_count,
                    ),
                    min_replica_count=mode.min_replicas,
                    max_replica_count=mode.max_replicas,
                    spot=mode.spot or None,
                ),
            ),
            opts=child,
        )
        self.resources["deployment"] = deployment
        self._endpoint_id = deployment.endpoint
        self.metrics_target = deployment.endpoint
        project_number = gcp.organizations.get_project_output(
            project_id=self._project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        # Dedicated endpoints answer on their own DNS name, not the shared regional API host.
        return pulumi.Output.all(deployment.endpoint, project_number, self._project).apply(
            lambda parts: (
                f"https://{parts[0]}.{mode.region}-{parts[1]}.prediction.vertexai.goog"
                f"/v1beta1/projects/{parts[2]}/locations/{mode.region}/endpoints/{parts[0]}"
            )
        )

    # gpu-vm ---------------------------------------------------------------------------------
    def _gpu_vm(self, name: str, pool: GpuVmPool, served: str) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        gpus = 0 if pool.accelerator == "none" else pool.accelerator_count
        account = gcp.serviceaccount.Account(
            f"{name}-vm-sa",
            project=self._project,
            account_id=f"{name}-vm"[:30].rstrip("-"),
            display_name=f"Inference VMs {name}",
            description="Runs the model server VMs: writes logs and metrics, reads its HF token if any.",
            opts=child,
        )
        vm_grants: list[Grant] = [ProjectRole("roles/logging.logWriter"), ProjectRole("roles/monitoring.metricWriter")]
        if pool.hf_token_secret:
            vm_grants.append(SecretRole(pool.hf_token_secret))
        grants = declare_grants(f"{name}-vm-sa", account.email.apply(lambda e: f"serviceAccount:{e}"), vm_grants, self._project, self, [account])
        server_tag = f"{name}-server"
        # The scrape job carries the VMs' name prefix, so each pool's alerts select its own series.
        job = self._vm_prefix(name)
        script = pulumi.Output.from_input(self._project).apply(lambda project: startup_script(pool, served, project, job))
        spot = pool.spot
        template = compute.RegionInstanceTemplate(
            f"{name}-template",
            project=self._project,
            region=pool.region,
            name_prefix=f"{name}-"[:37],
            description=f"vLLM serving {pool.model}",
            machine_type=pool.machine,
            disks=[
                compute.RegionInstanceTemplateDiskArgs(
                    boot=True, auto_delete=True, source_image=COS_IMAGE, disk_size_gb=pool.boot_disk_gb, disk_type="pd-balanced"
                )
            ],
            # No access_configs: no external IP. Egress for image/model pulls goes through Cloud NAT.
            network_interfaces=[
                compute.RegionInstanceTemplateNetworkInterfaceArgs(network=pool.network.network, subnetwork=pool.network.subnetwork)
            ],
            guest_accelerators=[compute.RegionInstanceTemplateGuestAcceleratorArgs(type=pool.accelerator, count=gpus)] if gpus else None,
            scheduling=compute.RegionInstanceTemplateSchedulingArgs(
                # GPUs cannot live-migrate; Spot VMs cannot either.
                on_host_maintenance="TERMINATE" if gpus or spot else "MIGRATE",
                automatic_restart=not spot,
                preemptible=spot,
                provisioning_model="SPOT" if spot else "STANDARD",
                instance_termination_action="STOP" if spot else None,
            ),
            shielded_instance_config=compute.RegionInstanceTemplateShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
            ),
            service_account=compute.RegionInstanceTemplateServiceAccountArgs(
                email=account.email, scopes=["https://www.googleapis.com/auth/cloud-platform"]
            ),
            metadata={
                "enable-oslogin": "TRUE",
                "block-project-ssh-keys": "TRUE",
                "google-logging-enabled": "true",
                "google-monitoring-enabled": "true",
            },
            metadata_startup_script=script,
            tags=[pool.network.health_check_tag, server_tag],
            labels={**self._labels, "component": "inference"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        health = compute.HealthCheck(
            f"{name}-health",
            project=self._project,
            description="vLLM /health on the server port",
            check_interval_sec=10,
            timeout_sec=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
            http_health_check=compute.HealthCheckHttpHealthCheckArgs(port=pool.port, request_path=HEALTH_PATH),
            log_config=compute.HealthCheckLogConfigArgs(enable=True),
            opts=child,
        )
        surge = max(len(pool.zones), 3)
        group = compute.RegionInstanceGroupManager(
            f"{name}-mig",
            project=self._project,
            region=pool.region,
            base_instance_name=self._vm_prefix(name),
            versions=[compute.RegionInstanceGroupManagerVersionArgs(name="primary", instance_template=template.self_link)],
            distribution_policy_zones=list(pool.zones) or None,
            # GPUs are scarce per zone: let the group place VMs wherever capacity exists.
            distribution_policy_target_shape="ANY",
            named_ports=[compute.RegionInstanceGroupManagerNamedPortArgs(name="http", port=pool.port)],
            auto_healing_policies=compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
                health_check=health.id,
                # Pulling the image and the weights takes minutes; don't recreate a VM that is still loading.
                initial_delay_sec=900,
            ),
            update_policy=compute.RegionInstanceGroupManagerUpdatePolicyArgs(
                type="PROACTIVE",
                minimal_action="REPLACE",
                instance_redistribution_type="NONE",
                max_surge_fixed=surge,
                max_unavailable_fixed=0,
            ),
            wait_for_instances=False,
            opts=child,
        )
        schedules = None
        if pool.schedule is not None:
            schedules = [
                compute.RegionAutoscalerAutoscalingPolicyScalingScheduleArgs(
                    name="working-hours",
                    schedule=pool.schedule.cron,
                    duration_sec=pool.schedule.duration_hours * 3600,
                    min_required_replicas=max(1, pool.min_replicas),
                    time_zone=pool.schedule.time_zone,
                    description="keep a server up while people test",
                )
            ]
        autoscaler = compute.RegionAutoscaler(
            f"{name}-autoscaler",
            project=self._project,
            region=pool.region,
            target=group.id,
            autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
                min_replicas=pool.min_replicas,
                max_replicas=pool.max_replicas,
                cooldown_period=900,
                cpu_utilization=compute.RegionAutoscalerAutoscalingPolicyCpuUtilizationArgs(target=0.6),
                mode="ON",
                scaling_schedules=schedules,
            ),
            opts=child,
        )
        address = compute.Address(
            f"{name}-ilb-ip",
            project=self._project,
            region=pool.region,
            address_type="INTERNAL",
            purpose="GCE_ENDPOINT",
            subnetwork=pool.network.subnetwork,
            description="stable private address of the model server",
            opts=child,
        )
        backend = compute.RegionBackendService(
            f"{name}-backend",
            project=self._project,
            region=pool.region,
            load_balancing_scheme="INTERNAL",
            protocol="TCP",
            health_checks=health.id,
            backends=[compute.RegionBackendServiceBackendArgs(group=group.instance_group, balancing_mode="CONNECTION")],
            connection_draining_timeout_sec=60,
            log_config=compute.RegionBackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
            opts=child,
        )
        rule = compute.ForwardingRule(
            f"{name}-ilb",
            project=self._project,
            region=pool.region,
            load_balancing_scheme="INTERNAL",
            backend_service=backend.id,
            ip_address=address.address,
            ip_protocol="TCP",
            ports=[str(pool.port)],
            network=pool.network.network,
            subnetwork=pool.network.subnetwork,
            allow_global_access=pool.global_access,
            labels=dict(self._labels),
            opts=child,
        )
        firewall = compute.Firewall(
            f"{name}-clients",
            project=self._project,
            network=pool.network.network,
            description="callers' egress ranges may reach the model server port; nothing else",
            direction="INGRESS",
            priority=1000,
            source_ranges=list(pool.network.client_ranges),
            target_tags=[server_tag],
            allows=[compute.FirewallAllowArgs(protocol="tcp", ports=[str(pool.port)])],
            log_config=compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=child,
        )
        self.resources.update(
            service_account=account, template=template, health_check=health, group=group, autoscaler=autoscaler,
            address=address, backend=backend, forwarding_rule=rule, firewall=firewall,
        )
        return address.address.apply(lambda ip: f"http://{ip}:{pool.port}/v1")

    def _vm_prefix(self, name: str) -> str:
        self.metrics_target = f"{name}-vm"[:58]
        return self.metrics_target

    # cloudrun-gpu ---------------------------------------------------------------------------
    def _cloudrun_gpu(self, name: str, mode: CloudRunGpu, served: str) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            project=self._project,
            account_id=f"{mode.service_name}-gpu"[:30],
            display_name=f"Cloud Run GPU service {mode.service_name}",
            description="Runs the model server; holds no project roles.",
            opts=child,
        )
        grants: list[pulumi.CustomResource] = []
        envs: list[cloudrunv2.ServiceTemplateContainerEnvArgs] = []
        if mode.hf_token_secret:
            grants = declare_grants(
                f"{name}-sa", account.email.apply(lambda e: f"serviceAccount:{e}"), [SecretRole(mode.hf_token_secret)],
                self._project, self, [account],
            )
            envs.append(
                cloudrunv2.ServiceTemplateContainerEnvArgs(
                    name="HF_TOKEN",
                    value_source=cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                        secret_key_ref=cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                            secret=mode.hf_token_secret, version="latest"
                        )
                    ),
                )
            )
        image: pulumi.Input[str] = mode.server_image
        image_deps: list[pulumi.Resource] = []
        hub_path = docker_hub_path(mode.server_image)
        if hub_path is not None:
            remote = gcp.artifactregistry.Repository(
                f"{name}-dockerhub",
                project=self._project,
                location=mode.region,
                repository_id=mode.remote_repository,
                format="DOCKER",
                mode="REMOTE_REPOSITORY",
                description="Docker Hub, proxied and cached in the project: the model server image is pulled from here",
                remote_repository_config=gcp.artifactregistry.RepositoryRemoteRepositoryConfigArgs(
                    description="Docker Hub",
                    docker_repository=gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgs(
                        public_repository="DOCKER_HUB"
                    ),
                ),
                # A cache: old copies are deleted after 90 days (the recent ones kept), and a pull
                # after that re-fetches from Docker Hub.
                cleanup_policy_dry_run=False,
                cleanup_policies=[
                    gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                        id="keep-recent", action="KEEP",
                        most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=5),
                    ),
                    gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                        id="delete-old", action="DELETE",
                        condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(older_than=f"{90 * 86_400}s"),
                    ),
                ],
                labels={**self._labels, "component": "inference"},
                opts=child,
            )
            self.resources["image_repository"] = remote
            image_deps.append(remote)
            image = pulumi.Output.concat(
                f"{mode.region}-docker.pkg.dev/", self._project, f"/{mode.remote_repository}/{hub_path}"
            )
        model_arg = mode.model
        volumes: list[cloudrunv2.ServiceTemplateVolumeArgs] | None = None
        mounts: list[cloudrunv2.ServiceTemplateContainerVolumeMountArgs] | None = None
        weights = gcs_model(mode.model)
        if weights is not None:
            bucket, path = weights
            model_arg = f"{WEIGHTS_MOUNT}/{path}"
            volumes = [
                cloudrunv2.ServiceTemplateVolumeArgs(
                    name="weights",
                    # implicit-dirs: a copied model tree has no directory placeholder objects.
                    gcs=cloudrunv2.ServiceTemplateVolumeGcsArgs(bucket=bucket, read_only=True, mount_options=["implicit-dirs"]),
                )
            ]
            mounts = [cloudrunv2.ServiceTemplateContainerVolumeMountArgs(name="weights", mount_path=WEIGHTS_MOUNT)]
            reader = gcp.storage.BucketIAMMember(
                f"{name}-weights-reader",
                bucket=bucket,
                role="roles/storage.objectViewer",
                member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
            )
            grants.append(reader)
        # The startup window: weights read from a mounted bucket load in about the probe's own
        # window; a Hugging Face download at every cold start (~15 GB for a 7B model) gets the
        # longest window Cloud Run allows, 480 s (see the limits above). The initial delay is a floor
        # on every cold start, so it is spent only where the download needs it.
        period = 10
        initial_delay = 0 if weights is not None else STARTUP_PROBE_MAX_DELAY_S
        service = cloudrunv2.Service(
            name,
            name=mode.service_name,
            project=self._project,
            location=mode.region,
            ingress="INGRESS_TRAFFIC_INTERNAL_ONLY" if mode.internal_only else "INGRESS_TRAFFIC_ALL",
            deletion_protection=mode.deletion_protection,
            invoker_iam_disabled=False,
            labels={**self._labels, "component": "inference"},
            scaling=cloudrunv2.ServiceScalingArgs(min_instance_count=mode.min_instances),
            template=cloudrunv2.ServiceTemplateArgs(
                service_account=account.email,
                max_instance_request_concurrency=mode.concurrency,
                timeout="600s",
                scaling=cloudrunv2.ServiceTemplateScalingArgs(
                    min_instance_count=mode.min_instances, max_instance_count=mode.max_instances
                ),
                node_selector=cloudrunv2.ServiceTemplateNodeSelectorArgs(accelerator="nvidia-l4"),
                vpc_access=cloudrunv2.ServiceTemplateVpcAccessArgs(
                    egress="ALL_TRAFFIC" if mode.vpc_egress.all_traffic else "PRIVATE_RANGES_ONLY",
                    network_interfaces=[
                        cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                            network=mode.vpc_egress.network, subnetwork=mode.vpc_egress.subnetwork
                        )
                    ],
                ) if mode.vpc_egress is not None else None,
                gpu_zonal_redundancy_disabled=not mode.gpu_zonal_redundancy,
                volumes=volumes,
                containers=[
                    cloudrunv2.ServiceTemplateContainerArgs(
                        image=image,
                        args=vllm_args(model_arg, served, SERVER_PORT, mode.max_model_len, 1),
                        volume_mounts=mounts,
                        ports=cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=SERVER_PORT, name="http1"),
                        envs=envs or None,
                        resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": str(mode.cpu), "memory": mode.memory, "nvidia.com/gpu": "1"},
                            # GPUs need CPU always allocated (instance-based billing).
                            cpu_idle=False,
                            startup_cpu_boost=True,
                        ),
                        startup_probe=cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                            http_get=cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path=HEALTH_PATH, port=SERVER_PORT),
                            initial_delay_seconds=initial_delay, period_seconds=period, timeout_seconds=5,
                            failure_threshold=STARTUP_PROBE_MAX_FAILURE_WINDOW_S // period,
                        ),
                        liveness_probe=cloudrunv2.ServiceTemplateContainerLivenessProbeArgs(
                            http_get=cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs(path=HEALTH_PATH, port=SERVER_PORT),
                            period_seconds=30, timeout_seconds=5, failure_threshold=3,
                        ),
                    )
                ],
                labels={**self._labels, "component": "inference"},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*grants, *image_deps]),
        )
        self._gpu_service = service
        self.metrics_target = service.name
        self.resources.update(service_account=account, service=service)
        return service.uri.apply(lambda uri: f"{uri}/v1")

    # callers --------------------------------------------------------------------------------
    def authorize(
        self, caller: str, member: pulumi.Input[str], depends_on: list[pulumi.Resource] | None = None
    ) -> list[pulumi.CustomResource]:
        """Grant ``member`` (e.g. a service's account) what it needs to call this endpoint, and no more."""
        granted = declare_grants(f"{self._name}-{caller}", member, self.client_grants, self._project, self, depends_on)
        opts = pulumi.ResourceOptions(parent=self, depends_on=depends_on or [])
        if self._gpu_service is not None and isinstance(self.mode, CloudRunGpu):
            granted.append(
                cloudrunv2.ServiceIamMember(
                    f"{self._name}-{caller}-invoker",
                    project=self._project,
                    location=self.mode.region,
                    name=self._gpu_service.name,
                    role="roles/run.invoker",
                    member=member,
                    opts=opts,
                )
            )
        if self._endpoint_id is not None and isinstance(self.mode, VertexModelGarden):
            granted.append(
                vertex.AiEndpointIamMember(
                    f"{self._name}-{caller}-predict",
                    project=self._project,
                    location=self.mode.region,
                    endpoint=self._endpoint_id,
                    role="roles/aiplatform.user",
                    member=member,
                    opts=opts,
                )
            )
        return granted
