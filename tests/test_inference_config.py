"""`stagewise:inference`: each mode's config errors name the key and the fix, before any resource."""

from __future__ import annotations

import json

import pytest

from stagewise.stacks.config import StackConfig
from stagewise.stacks.config.inference import CloudRunGpuInferenceConfig, GpuVmInferenceConfig, ManagedInferenceConfig, VertexInferenceConfig
from stagewise.stacks.config.loader import ConfigError, load_config

GOOD = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}
GEMMA_HF = "google/gemma-3-4b-it"
GEMMA_PUBLISHER = "publishers/google/models/gemma3@gemma-3-4b-it"


def load(inference: dict[str, object], **more: object) -> StackConfig:
    raw = {**GOOD, "stagewise:inference": json.dumps(inference)}
    raw.update({f"stagewise:{key}": json.dumps(value) for key, value in more.items()})
    return load_config(raw, "staging")


def error_of(inference: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(inference)
    return str(caught.value)


# --- defaults of each mode ----------------------------------------------------------------------
def test_mode_defaults_to_managed_when_omitted() -> None:
    config = load({"model": "gemini-2.5-pro"})
    assert isinstance(config.inference, ManagedInferenceConfig) and config.inference.model == "gemini-2.5-pro"


def test_vertex_defaults_to_one_l4_with_a_gemini_fallback() -> None:
    config = load({"mode": "vertex", "model": GEMMA_PUBLISHER, "acceptEula": True})
    assert isinstance(config.inference, VertexInferenceConfig)
    assert (config.inference.accelerator_type, config.inference.machine_type) == ("NVIDIA_L4", "g2-standard-12")
    assert config.inference.min_replicas == 1 and config.inference.fallback_model == "gemini-2.5-flash"


def test_gpu_vm_defaults_to_l4_on_g2_and_a_cpu_variant_picks_a_cpu_machine() -> None:
    gpu = load({"mode": "gpu-vm", "model": GEMMA_HF}).inference
    assert isinstance(gpu, GpuVmInferenceConfig) and gpu.effective_machine_type == "g2-standard-8"
    assert "vllm-openai" in gpu.effective_server_image
    cpu = load({"mode": "gpu-vm", "model": GEMMA_HF, "accelerator": "none", "spot": True, "minReplicas": 0, "maxReplicas": 1}).inference
    assert isinstance(cpu, GpuVmInferenceConfig) and cpu.effective_machine_type == "n2-standard-8"
    assert "cpu" in cpu.effective_server_image


def test_cloudrun_gpu_defaults_scale_to_zero_within_gpu_minimums() -> None:
    config = load({"mode": "cloudrun-gpu", "model": GEMMA_HF}).inference
    assert isinstance(config, CloudRunGpuInferenceConfig)
    assert config.min_instances == 0 and config.cpu >= 4 and config.memory == "32Gi" and config.max_instances <= 10


# --- errors shared by the union -------------------------------------------------------------------
def test_unknown_mode_lists_the_modes() -> None:
    message = error_of({"mode": "tpu-pod", "model": GEMMA_HF})
    assert "stagewise:inference.mode" in message
    assert all(mode in message for mode in ("managed", "vertex", "gpu-vm", "cloudrun-gpu"))


def test_unknown_key_is_reported_at_the_config_key_with_the_modes_keys() -> None:
    message = error_of({"mode": "gpu-vm", "model": GEMMA_HF, "machinType": "g2-standard-8"})
    assert "stagewise:inference.machinType" in message and "inference.gpu-vm" not in message
    assert "did you mean 'machineType'" in message


def test_key_of_another_mode_is_unknown_here() -> None:
    message = error_of({"mode": "managed", "acceleratorType": "NVIDIA_L4"})
    assert "stagewise:inference.acceleratorType" in message and "unknown key for mode 'managed'" in message


def test_type_errors_keep_the_key_path() -> None:
    message = error_of({"mode": "cloudrun-gpu", "model": GEMMA_HF, "cpu": "lots"})
    assert "stagewise:inference.cpu" in message


# --- vertex -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "key_phrase"),
    [
        ({"acceptEula": False}, "acceptEula: true"),
        ({"acceleratorType": "NVIDIA_K80"}, "is not offered for Vertex AI serving"),
        ({"machineType": "n1-standard-8"}, "runs on g2-* machines"),
        ({"machineType": "g2-standard-24", "acceleratorCount": 1}, "set acceleratorCount: 2"),
        ({"minReplicas": 0}, "cannot scale to zero"),
        ({"minReplicas": 3, "maxReplicas": 2}, "maxReplicas (2) is below minReplicas (3)"),
    ],
)
def test_vertex_errors(settings: dict[str, object], key_phrase: str) -> None:
    message = error_of({"mode": "vertex", "model": GEMMA_PUBLISHER, "acceptEula": True, **settings})
    assert "stagewise:inference" in message and key_phrase in message


def test_vertex_model_must_be_publisher_or_hugging_face() -> None:
    message = error_of({"mode": "vertex", "model": "gemma"})
    assert "stagewise:inference.model" in message and "Hugging Face id" in message


def test_vertex_hugging_face_model_needs_no_eula() -> None:
    assert load({"mode": "vertex", "model": GEMMA_HF}).inference.mode == "vertex"


# --- gpu-vm -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "key_phrase"),
    [
        ({"machineType": "n2-standard-8"}, "runs on g2-* machines"),
        ({"accelerator": "nvidia-tesla-t4", "machineType": "g2-standard-8"}, "runs on n1-* machines"),
        ({"accelerator": "nvidia-tesla-t4", "machineType": "n1-standard-8", "acceleratorCount": 3}, "1, 2 or 4 T4s"),
        ({"accelerator": "none", "machineType": "g2-standard-8"}, "comes with GPUs but accelerator is none"),
        ({"machineType": "g2-standard-48", "acceleratorCount": 1}, "set acceleratorCount: 4"),
        ({"minReplicas": 2, "maxReplicas": 1}, "maxReplicas (1) is below minReplicas (2)"),
        ({"zones": ["europe-west1-b"], "region": "us-central1"}, "must all lie in the inference region"),
        ({"zones": ["uscentral"]}, "is not a zone name"),
        ({"serverImage": "vllm/vllm-openai"}, "stagewise:inference.serverImage"),
        ({"schedule": {"cron": "every morning"}}, "must have 5 fields"),
    ],
)
def test_gpu_vm_errors(settings: dict[str, object], key_phrase: str) -> None:
    message = error_of({"mode": "gpu-vm", "model": GEMMA_HF, **settings})
    assert "stagewise:inference" in message and key_phrase in message


def test_gpu_vm_model_must_be_a_hugging_face_id() -> None:
    assert "stagewise:inference.model" in error_of({"mode": "gpu-vm", "model": "gemma 3"})


# --- cloudrun-gpu -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "key_phrase"),
    [
        ({"cpu": 2}, "needs 4 to 8 vCPUs"),
        ({"memory": "8Gi"}, "needs 16Gi to 32Gi"),
        ({"region": "us-west1"}, "has no Cloud Run GPUs"),
        ({"maxInstances": 50}, "keep it at 10 or below"),
        ({"minInstances": 2, "maxInstances": 1}, "maxInstances (1) is below minInstances (2)"),
        ({"gpu": "nvidia-h100"}, "stagewise:inference.gpu"),
    ],
)
def test_cloudrun_gpu_errors(settings: dict[str, object], key_phrase: str) -> None:
    message = error_of({"mode": "cloudrun-gpu", "model": GEMMA_HF, **settings})
    assert "stagewise:inference" in message and key_phrase in message


def test_test_inference_key_accepts_only_gpu_vm() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"mode": "managed"}, testInference={"mode": "cloudrun-gpu", "model": GEMMA_HF})
    assert "stagewise:testInference.mode" in str(caught.value)
