"""`stagewise:inference` — how the model is served, one of four modes chosen by `mode`.

- `managed` (default): Gemini over the Vertex AI API; nothing runs on our side.
- `vertex`: a Vertex AI endpoint with a Model Garden deployment on dedicated GPUs.
- `gpu-vm`: a regional managed instance group of GPU (or CPU-only) VMs running vLLM behind an
  internal load balancer.
- `cloudrun-gpu`: vLLM on a Cloud Run service with an NVIDIA L4, scaled to zero.

Every self-hosted mode keeps a managed Gemini model as the app's fallback unless
`fallbackModel: null` is set. GCP's constraints (machine/accelerator pairs, Cloud Run GPU
minimums and regions) are checked here, at config time, by the same functions the component uses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, WrapValidator, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from stagewise.components.inference import (
    CLOUD_RUN_GPU_REGIONS,
    DEFAULT_CPU_SERVER_IMAGE,
    DEFAULT_GPU_SERVER_IMAGE,
    VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED,
    check_cloudrun_gpu,
    check_gpu_vm,
    check_vertex,
    default_vm_machine_type,
)
from stagewise.stacks.config.base import Section
from stagewise.stacks.config.images import check_image_ref
from stagewise.stacks.config.models import check_model
from stagewise.stacks.config.regions import check_region

_GEMINI = r"^[a-z0-9][-a-z0-9.@]*$"
_HF_MODEL = r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[A-Za-z0-9][-A-Za-z0-9_.]*$"
# A copy of the weights in Cloud Storage, mounted read-only by the Cloud Run GPU service.
_GCS_MODEL = r"^gs://[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]/[^\s]+$"
_SERVED_NAME = r"^[A-Za-z0-9][-A-Za-z0-9_./:]{0,127}$"
_SECRET_ID = r"^[A-Za-z0-9_-]{1,255}$"
_IMAGE = r"^[a-z0-9][-a-z0-9./_:]*(@sha256:[a-f0-9]{64}|:[-A-Za-z0-9_.]{1,128})$"

MODES = ("managed", "vertex", "gpu-vm", "cloudrun-gpu")


def _location(value: str | None) -> str | None:
    return value if value in (None, "global") else check_region(str(value))


class ManagedInferenceConfig(Section):
    """A model called over Google's API (Vertex AI Gemini): nothing to run ourselves."""

    mode: Literal["managed"] = "managed"
    model: str = Field("gemini-2.5-flash", pattern=_GEMINI, description="Gemini model id")
    location: str | None = Field(None, description="Vertex AI location; defaults to gcp:region")
    fallback_model: str | None = Field(None, pattern=_GEMINI, description="model tried when the primary fails")

    _location = field_validator("location")(classmethod(lambda cls, v: _location(v)))
    _models = field_validator("model", "fallback_model")(classmethod(lambda cls, v: check_model(v)))


class _SelfHostedConfig(Section):
    """What every self-hosted mode shares: the open model, where it runs, the managed fallback."""

    model: str = Field(description="Hugging Face model id served by vLLM, e.g. google/gemma-3-4b-it")
    served_model_name: str | None = Field(
        None, pattern=_SERVED_NAME, description="model name the OpenAI-compatible API answers to (default: model)"
    )
    region: str | None = Field(None, description="where the model runs; defaults to gcp:region")
    fallback_model: str | None = Field(
        "gemini-2.5-flash", pattern=_GEMINI, description="managed Gemini model the app falls back to (null: none)"
    )
    fallback_location: str | None = Field(None, description="Vertex AI location of the fallback; defaults to gcp:region")
    hf_token_secret: str | None = Field(
        None, pattern=_SECRET_ID, description="Secret Manager secret id holding a Hugging Face token (gated models)"
    )

    _region = field_validator("region")(classmethod(lambda cls, v: None if v is None else check_region(v)))
    _fallback_location = field_validator("fallback_location")(classmethod(lambda cls, v: _location(v)))
    _fallback_model = field_validator("fallback_model")(classmethod(lambda cls, v: check_model(v)))

    @property
    def openai_model(self) -> str:
        return self.served_model_name or self.model


class VertexInferenceConfig(_SelfHostedConfig):
    """A Vertex AI endpoint with a Model Garden deployment on dedicated GPUs."""

    mode: Literal["vertex"]
    model: str = Field(
        description="publisher model (publishers/google/models/gemma3@gemma-3-4b-it) or a Hugging Face id (org/name)"
    )
    machine_type: str = Field("g2-standard-12", pattern=r"^[a-z][a-z0-9]*-[a-z0-9-]+$", description="serving machine type")
    accelerator_type: str = Field("NVIDIA_L4", description="GPU type, e.g. NVIDIA_L4, NVIDIA_TESLA_T4, NVIDIA_A100_80GB")
    accelerator_count: int = Field(1, ge=1, le=16, description="GPUs per replica (must match the machine type)")
    min_replicas: int = Field(1, ge=0, le=100, description="replicas always serving (Vertex AI needs at least 1)")
    max_replicas: int = Field(2, ge=1, le=100, description="replicas at peak (autoscaled on GPU/CPU load)")
    private_endpoint: bool = Field(False, description="not supported (Private Service Connect); see the error it gives")
    accept_eula: bool = Field(False, description="accept the model's licence (required for publisher models such as Gemma)")
    spot: bool = Field(False, description="Spot VMs for the replicas (cheaper, can be preempted)")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        import re

        if not (value.startswith("publishers/") or re.match(_HF_MODEL, value)):
            raise ValueError(
                f"model {value!r}: use a Model Garden publisher model (publishers/google/models/gemma3@gemma-3-4b-it) "
                "or a Hugging Face id (org/name)"
            )
        return value

    @field_validator("private_endpoint")
    @classmethod
    def _no_private_endpoint(cls, value: bool) -> bool:
        if value:
            raise ValueError(VERTEX_PRIVATE_ENDPOINT_UNSUPPORTED)
        return value

    @model_validator(mode="after")
    def _gcp_constraints(self) -> "VertexInferenceConfig":
        check_vertex(
            model=self.model,
            machine_type=self.machine_type,
            accelerator_type=self.accelerator_type,
            accelerator_count=self.accelerator_count,
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            accept_eula=self.accept_eula,
        )
        return self


class ScheduleConfig(Section):
    """Keep at least one VM up during working hours even when minReplicas is 0."""

    cron: str = Field("0 8 * * MON-FRI", description="when the window opens (cron, in timeZone)")
    duration_hours: int = Field(10, ge=1, le=24, description="how long the window stays open")
    time_zone: str = Field("UTC", pattern=r"^[A-Za-z_]+(/[A-Za-z_+-]+)*$", description="IANA time zone, e.g. Europe/Berlin")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron {value!r} must have 5 fields (minute hour day month weekday), e.g. '0 8 * * MON-FRI'")
        return value


class GpuVmInferenceConfig(_SelfHostedConfig):
    """A regional MIG of GPU VMs (or CPU-only, for a test VM) running vLLM behind an internal load balancer."""

    mode: Literal["gpu-vm"]
    model: str = Field(pattern=_HF_MODEL, description="Hugging Face model id served by vLLM, e.g. google/gemma-3-4b-it")
    accelerator: Literal["nvidia-l4", "nvidia-tesla-t4", "none"] = Field(
        "nvidia-l4", description="GPU per VM: nvidia-l4 (g2), nvidia-tesla-t4 (n1), or none for a CPU-only VM"
    )
    accelerator_count: int = Field(1, ge=1, le=8, description="GPUs per VM (must match the machine type)")
    machine_type: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9]*-[a-z0-9-]+$", description="VM machine type; default g2-standard-8 (L4), n1-standard-8 (T4), n2-standard-8 (CPU)"
    )
    min_replicas: int = Field(1, ge=0, le=100, description="VMs kept running (0: off outside the schedule)")
    max_replicas: int = Field(2, ge=1, le=100, description="VMs at peak (autoscaled on CPU load)")
    zones: list[str] = Field(default_factory=list, description="zones of the region to spread VMs over (default: all)")
    spot: bool = Field(False, description="Spot VMs: up to ~60-91% cheaper, preempted at any time")
    boot_disk_gb: int = Field(100, ge=30, le=4096, description="boot disk size (the model's weights are cached here)")
    server_image: str | None = Field(
        None, pattern=_IMAGE, description="OpenAI-compatible server image (pinned tag or digest); default: vLLM for the accelerator"
    )
    max_model_len: int | None = Field(None, ge=256, le=1_048_576, description="vLLM --max-model-len (context window)")
    port: int = Field(8000, ge=1024, le=65535, description="port the server listens on (and the internal LB forwards)")
    schedule: ScheduleConfig | None = Field(None, description="working-hours window with at least one VM up")

    _server_image = field_validator("server_image")(classmethod(lambda cls, v: None if v is None else check_image_ref(v)))

    @model_validator(mode="after")
    def _gcp_constraints(self) -> "GpuVmInferenceConfig":
        check_gpu_vm(
            accelerator=self.accelerator,
            accelerator_count=self.accelerator_count,
            machine_type=self.effective_machine_type,
            min_replicas=self.min_replicas,
            max_replicas=self.max_replicas,
            zones=self.zones,
            region=self.region,
        )
        return self

    @property
    def effective_machine_type(self) -> str:
        return self.machine_type or default_vm_machine_type(self.accelerator)

    @property
    def effective_server_image(self) -> str:
        if self.server_image:
            return self.server_image
        return DEFAULT_CPU_SERVER_IMAGE if self.accelerator == "none" else DEFAULT_GPU_SERVER_IMAGE


class CloudRunGpuInferenceConfig(_SelfHostedConfig):
    """vLLM on Cloud Run with one NVIDIA L4 per instance, scaled to zero when idle."""

    mode: Literal["cloudrun-gpu"]
    model: str = Field(
        description="Hugging Face model id served by vLLM (downloaded at each cold start), e.g. google/gemma-3-4b-it, "
        "or gs://BUCKET/PATH of a copy of its weights, mounted read-only (faster cold starts; set servedModelName)",
    )
    service_name: str = Field("inference", pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", description="Cloud Run service name")
    gpu: Literal["nvidia-l4"] = Field("nvidia-l4", description="GPU type (Cloud Run services offer nvidia-l4)")
    cpu: int = Field(8, description="vCPUs per instance (Cloud Run needs at least 4 with a GPU)")
    memory: str = Field("32Gi", pattern=r"^\d+(Mi|Gi)$", description="memory per instance (at least 16Gi with a GPU)")
    min_instances: int = Field(0, ge=0, description="instances kept warm (0 scales to zero; a warm GPU bills all day)")
    max_instances: int = Field(1, ge=1, description="upper bound on instances; each holds one L4 from the regional quota")
    concurrency: int = Field(16, ge=1, le=1000, description="requests one instance serves at once (vLLM batches them)")
    gpu_zonal_redundancy: bool = Field(
        False, description="reserve capacity in other zones for failover (costs more; off: best-effort failover)"
    )
    server_image: str = Field(
        DEFAULT_GPU_SERVER_IMAGE, pattern=_IMAGE,
        description="OpenAI-compatible server image, pinned; a Docker Hub image (docker.io/…) is pulled through a remote "
        "Artifact Registry repository the stack declares",
    )
    max_model_len: int | None = Field(None, ge=256, le=1_048_576, description="vLLM --max-model-len (context window)")

    _server_image = field_validator("server_image")(classmethod(lambda cls, v: check_image_ref(v)))

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        import re

        if not (re.match(_HF_MODEL, value) or re.match(_GCS_MODEL, value)):
            raise ValueError(
                f"model {value!r}: use a Hugging Face id (org/name) or gs://BUCKET/PATH of a copy of the model's weights"
            )
        return value

    @model_validator(mode="after")
    def _gcp_constraints(self) -> "CloudRunGpuInferenceConfig":
        if self.model.startswith("gs://") and not self.served_model_name:
            raise ValueError(f"model {self.model} is a Cloud Storage path: set servedModelName, the name the API answers to")
        check_cloudrun_gpu(
            region=self.region,
            cpu=self.cpu,
            memory=self.memory,
            min_instances=self.min_instances,
            max_instances=self.max_instances,
        )
        return self


def _mode_of(value: Any) -> str | None:
    if isinstance(value, dict):
        mode = value.get("mode", "managed")
        return mode if isinstance(mode, str) else None
    mode = getattr(value, "mode", None)
    return mode if isinstance(mode, str) else None


def _report_from_the_mode(value: Any, handler: Any) -> Any:
    """Report errors at the config key (inference.x), not at pydantic's union tag (inference.gpu-vm.x)."""
    try:
        return handler(value)
    except ValidationError as exc:
        details: list[InitErrorDetails] = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc and loc[0] in MODES:
                loc = loc[1:]
            kind = error["type"]
            if kind in ("union_tag_invalid", "union_tag_not_found"):
                given = value.get("mode") if isinstance(value, dict) else None
                details.append(_custom(("mode",), given, f"{given!r} is not an inference mode; use one of {', '.join(MODES)}"))
            elif kind == "extra_forbidden":
                details.append(_custom(loc, error["input"], _unknown_key(str(loc[-1]), _mode_of(value))))
            else:
                detail = InitErrorDetails(type=kind, loc=loc, input=error["input"])
                if "ctx" in error:
                    detail["ctx"] = error["ctx"]
                details.append(detail)
        raise ValidationError.from_exception_data(exc.title, details) from None


def _custom(loc: tuple[Any, ...], given: Any, message: str) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("value_error", "Value error, {message}", {"message": message}), loc=loc, input=given
    )


def _unknown_key(key: str, mode: str | None) -> str:
    import difflib

    model = MODELS.get(mode or "managed", ManagedInferenceConfig)
    known = sorted(field.alias or name for name, field in model.model_fields.items())
    hint = difflib.get_close_matches(key, known, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown key for mode {mode!r}; {suggestion}known keys here: {', '.join(known)}"


MODELS: dict[str, type[Section]] = {
    "managed": ManagedInferenceConfig,
    "vertex": VertexInferenceConfig,
    "gpu-vm": GpuVmInferenceConfig,
    "cloudrun-gpu": CloudRunGpuInferenceConfig,
}
SelfHostedInferenceConfig = Union[VertexInferenceConfig, GpuVmInferenceConfig, CloudRunGpuInferenceConfig]

InferenceConfig = Annotated[
    Union[
        Annotated[ManagedInferenceConfig, Tag("managed")],
        Annotated[VertexInferenceConfig, Tag("vertex")],
        Annotated[GpuVmInferenceConfig, Tag("gpu-vm")],
        Annotated[CloudRunGpuInferenceConfig, Tag("cloudrun-gpu")],
    ],
    Discriminator(_mode_of),
    WrapValidator(_report_from_the_mode),
]
"""Any inference mode; `mode` picks the model (default managed)."""

__all__ = [
    "CLOUD_RUN_GPU_REGIONS",
    "CloudRunGpuInferenceConfig",
    "GpuVmInferenceConfig",
    "InferenceConfig",
    "ManagedInferenceConfig",
    "ScheduleConfig",
    "SelfHostedInferenceConfig",
    "VertexInferenceConfig",
]
