"""InferenceEndpoint: where the model runs, and what a caller needs to reach it — one module per mode.

- `limits`: GCP's constraints per mode and the checks the stack config shares (no Pulumi import).
- `modes`: the typed settings of each mode (`ManagedModel`, `VertexModelGarden`, `GpuVmPool`, `CloudRunGpu`).
- `vllm`: what a self-hosted server runs (vLLM arguments, the COS boot script, the metrics collector).
- `endpoint`: the `InferenceEndpoint` component; `managed`, `vertex`, `gpu_vm`, `cloudrun_gpu` declare each mode.

Names are re-exported here and imported on first use (PEP 562), so `from
stagewise.components.inference import check_vertex` loads neither Pulumi nor the provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stagewise.components.lazy import lazy_exports

_LIMITS = (
    "CLOUD_RUN_GPU_REGIONS", "CLOUD_RUN_GPU_MAX_INSTANCES", "CLOUD_RUN_GPU_MIN_CPU", "CLOUD_RUN_GPU_MIN_MEMORY_GIB",
    "CLOUD_RUN_MAX_CPU", "CLOUD_RUN_MAX_MEMORY_GIB", "COLLECTOR_IMAGE", "COS_IMAGE", "DEFAULT_CPU_SERVER_IMAGE",
    "DEFAULT_GPU_SERVER_IMAGE", "DEFAULT_VM_MACHINE", "DOCKER_HUB_REMOTE_REPOSITORY", "G2_GPUS", "GPU_MACHINE_FAMILIES",
    "HEALTH_CHECK_RANGES", "HEALTH_PATH", "PROMETHEUS_JOB", "SERVER_PORT", "STARTUP_PROBE_MAX_DELAY_S",
    "STARTUP_PROBE_MAX_FAILURE_WINDOW_S", "VERTEX_ACCELERATORS", "VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED",
    "VM_ACCELERATOR_FAMILY", "WEIGHTS_MOUNT", "check_cloudrun_gpu", "check_gpu_vm", "check_vertex",
    "default_vm_machine_type", "docker_hub_path", "gcs_model",
)
_MODES = ("CloudRunGpu", "GeminiFallback", "GpuVmPool", "InferenceMode", "MODE_NAMES", "ManagedModel",
          "PrivateNetwork", "VertexModelGarden", "WorkingHours")
_VLLM = ("COLLECTOR_DIR", "collector_config", "startup_script", "vllm_args")
_ENDPOINT = ("InferenceEndpoint", "InferenceEndpointArgs")
_WHERE: dict[str, str] = {
    **dict.fromkeys(_LIMITS, "limits"), **dict.fromkeys(_MODES, "modes"),
    **dict.fromkeys(_VLLM, "vllm"), **dict.fromkeys(_ENDPOINT, "endpoint"),
}
__all__ = [
    "CLOUD_RUN_GPU_MAX_INSTANCES",
    "CLOUD_RUN_GPU_MIN_CPU",
    "CLOUD_RUN_GPU_MIN_MEMORY_GIB",
    "CLOUD_RUN_GPU_REGIONS",
    "CLOUD_RUN_MAX_CPU",
    "CLOUD_RUN_MAX_MEMORY_GIB",
    "COLLECTOR_DIR",
    "COLLECTOR_IMAGE",
    "COS_IMAGE",
    "CloudRunGpu",
    "DEFAULT_CPU_SERVER_IMAGE",
    "DEFAULT_GPU_SERVER_IMAGE",
    "DEFAULT_VM_MACHINE",
    "DOCKER_HUB_REMOTE_REPOSITORY",
    "G2_GPUS",
    "GPU_MACHINE_FAMILIES",
    "GeminiFallback",
    "GpuVmPool",
    "HEALTH_CHECK_RANGES",
    "HEALTH_PATH",
    "InferenceEndpoint",
    "InferenceEndpointArgs",
    "InferenceMode",
    "MODE_NAMES",
    "ManagedModel",
    "PROMETHEUS_JOB",
    "PrivateNetwork",
    "SERVER_PORT",
    "STARTUP_PROBE_MAX_DELAY_S",
    "STARTUP_PROBE_MAX_FAILURE_WINDOW_S",
    "VERTEX_ACCELERATORS",
    "VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED",
    "VM_ACCELERATOR_FAMILY",
    "VertexModelGarden",
    "WEIGHTS_MOUNT",
    "WorkingHours",
    "check_cloudrun_gpu",
    "check_gpu_vm",
    "check_vertex",
    "collector_config",
    "default_vm_machine_type",
    "docker_hub_path",
    "gcs_model",
    "startup_script",
    "vllm_args",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)


if TYPE_CHECKING:
    from stagewise.components.inference.endpoint import InferenceEndpoint, InferenceEndpointArgs
    from stagewise.components.inference.limits import (
        CLOUD_RUN_GPU_MAX_INSTANCES, CLOUD_RUN_GPU_MIN_CPU, CLOUD_RUN_GPU_MIN_MEMORY_GIB, CLOUD_RUN_GPU_REGIONS,
        CLOUD_RUN_MAX_CPU, CLOUD_RUN_MAX_MEMORY_GIB, COLLECTOR_IMAGE, COS_IMAGE, DEFAULT_CPU_SERVER_IMAGE,
        DEFAULT_GPU_SERVER_IMAGE, DEFAULT_VM_MACHINE, DOCKER_HUB_REMOTE_REPOSITORY, G2_GPUS, GPU_MACHINE_FAMILIES,
        HEALTH_CHECK_RANGES, HEALTH_PATH, PROMETHEUS_JOB, SERVER_PORT, STARTUP_PROBE_MAX_DELAY_S,
        STARTUP_PROBE_MAX_FAILURE_WINDOW_S, VERTEX_ACCELERATORS, VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED,
        VM_ACCELERATOR_FAMILY, WEIGHTS_MOUNT, check_cloudrun_gpu, check_gpu_vm, check_vertex,
        default_vm_machine_type, docker_hub_path, gcs_model,
    )
    from stagewise.components.inference.modes import (
        MODE_NAMES, CloudRunGpu, GeminiFallback, GpuVmPool, InferenceMode, ManagedModel, PrivateNetwork,
        VertexModelGarden, WorkingHours,
    )
    from stagewise.components.inference.vllm import COLLECTOR_DIR, collector_config, startup_script, vllm_args
