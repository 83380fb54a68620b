"""Typed, validated configuration of the bootstrap stack (`bootstrap:*` and `gcp:*` keys).

Every error names the Pulumi key and the fix, and is raised before any resource is declared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from bootstrap.roles import STAGE_ROLES
from stagewise.stacks.config.base import Section
from stagewise.stacks.config.regions import check_region

NAMESPACE = "bootstrap"
PROJECT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
PRIMITIVE_ROLES = ("roles/owner", "roles/editor", "roles/viewer")


class ConfigError(Exception):
    """The bootstrap stack's configuration is invalid; the message lists each key and its fix."""


class GithubConfig(Section):
    """The repository whose workflows may deploy."""

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="OWNER/NAME of the GitHub repository")
    repository_id: str | None = Field(None, pattern=r"^[0-9]+$", description="numeric repository id (survives renames)")
    owner_id: str | None = Field(None, pattern=r"^[0-9]+$", description="numeric owner id (an org can't be re-registered)")
    main_branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]+$", description="branch whose pushes build the image")

    @model_validator(mode="after")
    def _ids_together(self) -> "GithubConfig":
        if (self.repository_id is None) != (self.owner_id is None):
            raise ValueError("set both repositoryId and ownerId, or neither (`gh api repos/OWNER/NAME --jq '.id, .owner.id'`)")
        return self


class StageTarget(Section):
    """Where one stage deploys, and the GitHub environment allowed to deploy it."""

    project: str = Field(pattern=PROJECT_ID, description="the stage's Google Cloud project id")
    environment: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,255}$",
                                    description="GitHub environment whose jobs may deploy (default: the stage name)")
    extra_roles: list[str] = Field(default_factory=list, description="more predefined roles for this stage's deployer")

    @field_validator("extra_roles")
    @classmethod
    def _no_primitive_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role in PRIMITIVE_ROLES:
                raise ValueError(f"{role} is a primitive role; name the predefined roles the deployer needs instead")
            if not role.startswith(("roles/", "projects/", "organizations/")):
                raise ValueError(f"{role!r} is not a role; write it like roles/run.admin")
        return value


class StateBucketConfig(Section):
    name: str | None = Field(None, pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$",
                             description="bucket name (default: <project>-pulumi-state)")
    location: str | None = Field(None, description="bucket location (default: gcp:region)")
    noncurrent_versions: int = Field(20, ge=1, le=1000, description="old versions of each state file kept")


class KmsConfig(Section):
    key_ring: str = Field("pulumi", pattern=r"^[A-Za-z0-9_-]{1,63}$", description="key ring name")
    key: str = Field("pulumi-secrets", pattern=r"^[A-Za-z0-9_-]{1,63}$", description="crypto key name")
    location: str | None = Field(None, description="key location (default: gcp:region)")
    rotation_days: int = Field(90, ge=1, le=365, description="automatic key rotation period")


class IdentityConfig(Section):
    pool_id: str = Field("github", pattern=r"^[a-z0-9-]{4,32}$", description="workload identity pool id")
    provider_id: str = Field("github-actions", pattern=r"^[a-z0-9-]{4,32}$", description="OIDC provider id")

    @field_validator("pool_id", "provider_id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("gcp-"):
            raise ValueError(f"{value!r}: the gcp- prefix is reserved by Google; pick another id")
        return value


class RegistryConfig(Section):
    repository_id: str = Field("stagewise", pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", description="Artifact Registry repository")
    keep_recent: int = Field(20, ge=1, le=1000, description="image versions kept by the cleanup policy")


class LabelsConfig(Section):
    env: str = Field("prod", pattern=r"^[a-z0-9_-]{1,63}$", description="env label (CI's shared pieces guard production)")
    owner: str = Field("platform", pattern=r"^[a-z0-9_-]{1,63}$", description="team that owns CI")
    cost_center: str = Field("llm-chat", pattern=r"^[a-z0-9_-]{1,63}$", description="cost-center label")


class GcpConfig(Section):
    project: str = Field(pattern=PROJECT_ID, description="the CI project: state, keys, registry, identity pool")
    region: str = Field("us-central1", description="default location of the bucket, key and registry")

    _region = field_validator("region")(classmethod(lambda cls, v: check_region(v)))


class BootstrapConfig(Section):
    gcp: GcpConfig
    github: GithubConfig
    stages: dict[str, StageTarget] = Field(description="stage name -> {project, environment}")
    state_bucket: StateBucketConfig = Field(default_factory=lambda: StateBucketConfig())
    kms: KmsConfig = Field(default_factory=lambda: KmsConfig())
    identity: IdentityConfig = Field(default_factory=lambda: IdentityConfig())
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig())
    labels: LabelsConfig = Field(default_factory=lambda: LabelsConfig())
    audit_retention_days: int = Field(365, ge=30, le=3650, description="days CI audit logs are kept")
    billing_account: str | None = Field(None, pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$",
                                        description="billing account whose budgets the deployers may manage")

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: dict[str, StageTarget]) -> dict[str, StageTarget]:
        if not value:
            raise ValueError(f"list at least one stage: {{{', '.join(f'{s}: {{project: …}}' for s in STAGE_ROLES)}}}")
        unknown = sorted(set(value) - set(STAGE_ROLES))
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(STAGE_ROLES)}")
        return value

    def environment(self, stage: str) -> str:
        return self.stages[stage].environment or stage

    @property
    def bucket_name(self) -> str:
        return self.state_bucket.name or f"{self.gcp.project}-pulumi-state"

    @property
    def all_labels(self) -> dict[str, str]:
        return {"env": self.labels.env, "owner": self.labels.owner, "cost-center": self.labels.cost_center,
                "managed-by": "pulumi", "app": "stagewise", "component": "bootstrap"}


def _parse(raw: str) -> Any:
    if raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"value is not valid JSON ({exc.msg})") from exc
    return raw


def _key(loc: tuple[int | str, ...]) -> str:
    head, *rest = (str(part) for part in loc) or ("",)
    if head == "gcp":
        return "gcp:" + ".".join(rest)
    return f"{NAMESPACE}:" + ".".join([head, *rest]).rstrip(".")


def load_config(raw: Mapping[str, str], stack: str) -> BootstrapConfig:
    """Validate the flat Pulumi config; raise ConfigError naming every bad key and its fix."""
    document: dict[str, Any] = {"gcp": {}}
    problems: list[str] = []
    for key, value in sorted(raw.items()):
        namespace, _, name = key.partition(":")
        try:
            if namespace == NAMESPACE:
                document[name] = _parse(value)
            elif namespace == "gcp" and name in ("project", "region"):
                document["gcp"][name] = value
        except ConfigError as exc:
            problems.append(f"{key}: {exc}; write it as YAML in Pulumi.{stack}.yaml")
    for required, fix in (("github", "bootstrap:github: {repository: OWNER/NAME}"),
                          ("stages", "bootstrap:stages: {mvp: {project: PROJECT_ID}, …}")):
        if required not in document:
            problems.append(f"bootstrap:{required}: not set; add `{fix}` to Pulumi.{stack}.yaml")
    if "project" not in document["gcp"]:
        problems.append("gcp:project: not set; run `pulumi config set gcp:project <ci-project-id>`")
    if not problems:
        try:
            return BootstrapConfig.model_validate(document)
        except ValidationError as exc:
            for error in exc.errors():
                message = re.sub(r"^Value error, ", "", error["msg"])
                if error["type"] == "extra_forbidden":
                    message = "unknown key; remove it or check its spelling"
                elif error["type"] == "string_pattern_mismatch":
                    message = f"{error['input']!r} does not match {error['ctx']['pattern']}"
                problems.append(f"{_key(error['loc'])}: {message}")
    raise ConfigError(f"invalid configuration for bootstrap stack {stack!r} (Pulumi.{stack}.yaml):\n"
                      + "\n".join(f"  - {problem}" for problem in problems))


def config_from_pulumi() -> BootstrapConfig:
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw: dict[str, str] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_config(raw, pulumi.get_stack())
