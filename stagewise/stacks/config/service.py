"""`stagewise:service` — the chat backend on Cloud Run."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.images import check_image_ref
from stagewise.stacks.config.personas import check_members

_MEMORY = re.compile(r"^\d+(Mi|Gi)$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Names that Cloud Run reserves or that the program itself sets.
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
# Secret Manager secret ids: letters, digits, - and _, up to 255
# ("A secret ID is a string with a maximum length of 255 characters and can contain uppercase and lowercase
# letters, numerals, and the hyphen (-) and underscore (_) characters",
# https://cloud.google.com/python/docs/reference/secretmanager/1.0.2/google.cloud.secretmanager_v1.types.CreateSecretRequest).
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# The app's per-tenant key variables (app/src/chatapp/settings.py): CHAT_API_KEY_ACME_CORP is tenant acme-corp.
PARTNER_KEY_PREFIX = "CHAT_API_KEY_"

Ingress = Literal["all", "internal", "internal-and-cloud-load-balancing"]


class ImageConfig(Section):
    """Where the container image comes from."""

    mode: Literal["build", "external"] = Field(
        "build",
        description="build: `pulumi up` builds app/ with a local Docker daemon and pushes it to Artifact Registry "
        "(the deploying machine needs Docker); external: CI builds and pushes, the stack names the image by ref",
    )
    ref: str | None = Field(None, description="external mode: image reference, ideally by digest (…@sha256:…)")
    # Default false: the ref in the stack file is what runs, so a new ref (CI sets one with `pulumi config set --path`
    # per deploy) rolls a new revision. True only when another tool rolls images out (`gcloud run
    # deploy`): the program then never changes the image of an existing service, not even to `ref`.
    ignore_changes: bool = Field(
        False,
        description="external mode: leave the image of an existing service alone (set true only when another tool, "
        "e.g. `gcloud run deploy`, rolls images out; a new ref is then never deployed by `pulumi up`)",
    )
    keep_recent: int = Field(10, ge=1, le=1000, description="build mode: images kept by the registry cleanup policy")

    @field_validator("ref")
    @classmethod
    def _ref_shape(cls, value: str | None) -> str | None:
        return None if value is None else check_image_ref(value)

    @model_validator(mode="after")
    def _ref_matches_mode(self) -> "ImageConfig":
        if self.mode == "external" and not self.ref:
            raise ValueError("mode 'external' needs ref: set image.ref to an image such as REGION-docker.pkg.dev/PROJECT/REPO/chat@sha256:…")
        if self.mode == "build" and self.ref:
            raise ValueError("ref is only used with mode 'external': remove image.ref or set image.mode: external")
        if self.ref and self.ref.endswith(":latest"):
            raise ValueError("image.ref ends with ':latest', which never rolls a new revision; pin a digest (…@sha256:…) or a unique tag")
        return self


class ServiceConfig(Section):
    """Scaling, sizing and access of the chat service."""

    name: str = Field("chat", pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", description="Cloud Run service name")
    min_instances: int = Field(0, ge=0, le=1000, description="instances kept warm (0 scales to zero)")
    max_instances: int = Field(3, ge=1, le=1000, description="upper bound on instances (cost cap)")
    concurrency: int = Field(80, ge=1, le=1000, description="requests one instance serves at once")
    cpu: Literal["1", "2", "4", "6", "8"] = Field("1", description="vCPUs per instance")
    memory: str = Field("512Mi", description="memory per instance, e.g. 512Mi or 2Gi")
    cpu_idle: bool = Field(True, description="request-based billing: CPU only while serving a request")
    startup_cpu_boost: bool = Field(True, description="extra CPU while an instance starts")
    timeout_seconds: int = Field(300, ge=1, le=3600, description="request timeout (streams included)")
    ingress: Ingress = Field("all", description="who can reach the service: all, internal, internal-and-cloud-load-balancing")
    public: bool = Field(False, description="grant roles/run.invoker to allUsers (the app then does its own auth)")
    invokers: list[str] = Field(default_factory=list, description="IAM members allowed to invoke when not public")
    deletion_protection: bool = Field(False, description="block `pulumi destroy` of the service")
    prompt_version: str = Field("v1", pattern=r"^[a-z0-9][-a-z0-9.]*$", description="active prompt/model config version")
    allowed_prompt_versions: list[str] = Field(default_factory=list, description="versions a request may pick")
    allow_anonymous: bool = Field(False, description="app accepts requests without an API key (rate limited)")
    env: dict[str, str] = Field(default_factory=dict, description="extra plain environment variables")
    secret_env: dict[str, str] = Field(
        default_factory=dict, description="environment variables from Secret Manager: NAME: secret-id"
    )
    image: ImageConfig = Field(default_factory=lambda: ImageConfig(), description="container image source")

    @field_validator("memory")
    @classmethod
    def _memory_format(cls, value: str) -> str:
        if not _MEMORY.match(value):
            raise ValueError(f"{value!r} is not a Cloud Run memory size; write it like 512Mi or 2Gi")
        mib = int(value[:-2]) * (1024 if value.endswith("Gi") else 1)
        if not 128 <= mib <= 32 * 1024:
            raise ValueError(f"{value} is outside Cloud Run's 128Mi..32Gi; pick a size in that range")
        return value

    @field_validator("env", "secret_env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"environment variable {name!r} must be UPPER_SNAKE_CASE")
            if name in RESERVED_ENV:
                raise ValueError(f"environment variable {name} is set by Cloud Run; remove it")
        return value

    @field_validator("invokers")
    @classmethod
    def _invokers(cls, value: list[str]) -> list[str]:
        if any(member in ("allUsers", "allAuthenticatedUsers") for member in value):
            raise ValueError("invokers lists a public member; set service.public: true for a public service, or name groups and accounts")
        return check_members(value)

    @field_validator("secret_env")
    @classmethod
    def _secret_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for name, secret in value.items():
            if not _SECRET_ID.match(secret):
                raise ValueError(f"secretEnv.{name}: {secret!r} is not a Secret Manager secret id; "
                                 "use up to 255 letters, digits, - and _ (the id, e.g. chat-api-keys, not a value or a path)")
        return value

    @field_validator("secret_env")
    @classmethod
    def _seedable_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        # Cloud Run reads each secret at `latest` when the first revision starts, so the program gives
        # every secret it creates a first version (stagewise/components/secrets.py); it knows a value the app
        # starts with only for the API-key variables.
        for name in value:
            if name != "CHAT_API_KEYS" and not name.startswith(PARTNER_KEY_PREFIX):
                raise ValueError(
                    f"{name}: the program creates a secret for each variable and gives it a first version "
                    f"the app starts with, which it can only do for CHAT_API_KEYS and {PARTNER_KEY_PREFIX}<TENANT> "
                    "(a key set no key matches, until you add yours); the first revision would fail reading any other "
                    "secret. Put a non-secret value in env, or keep only the API-key variables in secretEnv"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "ServiceConfig":
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"maxInstances ({self.max_instances}) is below minInstances ({self.min_instances}); "
                "raise service.maxInstances or lower service.minInstances"
            )
        overlap = set(self.env) & set(self.secret_env)
        if overlap:
            raise ValueError(f"{sorted(overlap)} set in both env and secretEnv; keep each name in one of them")
        if self.public and self.invokers:
            raise ValueError("service.public grants allUsers, so service.invokers is meaningless; drop one of them")
        if int(self.cpu) >= 4 and _mib(self.memory) < 2048:
            raise ValueError(f"cpu {self.cpu} needs at least 2Gi of memory on Cloud Run; raise service.memory")
        if self.allowed_prompt_versions and self.prompt_version not in self.allowed_prompt_versions:
            raise ValueError(
                f"promptVersion {self.prompt_version!r} is not in allowedPromptVersions; add it or change promptVersion"
            )
        return self


def _mib(memory: str) -> int:
    return int(memory[:-2]) * (1024 if memory.endswith("Gi") else 1)
