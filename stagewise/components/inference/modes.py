"""The four inference modes as typed, validated settings (one dataclass per mode) and their shared parts.

Each mode is declared by its own module (managed.py, vertex.py, gpu_vm.py, cloudrun_gpu.py); the
`__post_init__` checks come from limits.py, so a mode that GCP would refuse cannot be constructed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Union

import pulumi

from stagewise.components.chat_service import VpcEgress
from stagewise.components.inference.limits import (
    DEFAULT_CPU_SERVER_IMAGE,
    DEFAULT_GPU_SERVER_IMAGE,
    DOCKER_HUB_REMOTE_REPOSITORY,
    SERVER_PORT,
    VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED,
    check_cloudrun_gpu,
    check_gpu_vm,
    check_vertex,
    default_vm_machine_type,
    gcs_model,
)

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
