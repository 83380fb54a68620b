"""`stagewise:partners` — the separate partner service of the staging stage (seed stage 2).

Example (Pulumi.staging.yaml)::

    stagewise:partners:
      name: chat-partners
      minInstances: 1
      maxInstances: 20
      promptVersion: v2
      # once v1 has run (a first deploy has no previous revision): its revision from `pulumi stack output revisions`
      release: {previous: v1, previousRevision: chat-partners-00001-abc, previousPercent: 50}
      partners:
        acme: {}
        globex: {displayName: Globex Corp}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.releases import VERSION_PATTERN, ReleaseConfig, check_release
from stagewise.stacks.config.service import _mib

_PARTNER_KEY = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


class PartnerConfig(Section):
    """One partner: its own API key in its own Secret Manager secret (rotate or revoke one partner alone)."""

    display_name: str | None = Field(None, max_length=100, description="human name, for docs and labels")
    secret_id: str | None = Field(
        None, pattern=r"^[a-z][-a-z0-9_]{0,254}$", description="secret holding the partner's API key (default partner-<key>-api-key)"
    )


class PartnerServiceConfig(Section):
    """A separate Cloud Run service only partners reach: own account, own config version, own scaling."""

    name: str = Field("chat-partners", pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", description="Cloud Run service name")
    min_instances: int = Field(1, ge=0, le=1000, description="instances kept warm (partners should not wait on cold starts)")
    max_instances: int = Field(20, ge=1, le=1000, description="upper bound on instances (higher than the MVP's)")
    concurrency: int = Field(20, ge=1, le=1000, description="requests per instance (lower: scale out sooner)")
    cpu: Literal["1", "2", "4", "6", "8"] = Field("1", description="vCPUs per instance")
    memory: str = Field("1Gi", pattern=r"^\d+(Mi|Gi)$", description="memory per instance")
    prompt_version: str = Field("v2", pattern=VERSION_PATTERN, description="the prompt/model config version partners test")
    release: ReleaseConfig = Field(default_factory=lambda: ReleaseConfig(), description="previous version kept side by side")
    partners: dict[str, PartnerConfig] = Field(description="partners by key; each gets an API-key secret")
    use_test_inference: bool = Field(
        False, description="send this service's requests to the test-inference VM first (Gemini stays the fallback)"
    )

    @field_validator("partners")
    @classmethod
    def _partners(cls, value: dict[str, PartnerConfig]) -> dict[str, PartnerConfig]:
        if not value:
            raise ValueError("no partners; add at least one, e.g. partners: {acme: {}}")
        for key in value:
            if not _PARTNER_KEY.match(key):
                raise ValueError(f"partner key {key!r}: use up to 30 lowercase letters, digits and dashes, starting with a letter")
        secrets = [cls.secret_of(key, partner) for key, partner in value.items()]
        if len(set(secrets)) != len(secrets):
            raise ValueError("two partners share a secretId; give each partner its own secret")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "PartnerServiceConfig":
        if self.max_instances < self.min_instances:
            raise ValueError(f"maxInstances ({self.max_instances}) is below minInstances ({self.min_instances}); raise maxInstances")
        if int(self.cpu) >= 4 and _mib(self.memory) < 2048:
            raise ValueError(f"cpu {self.cpu} needs at least 2Gi of memory on Cloud Run; raise memory")
        check_release(self.release, self.prompt_version, self.name)
        return self

    @staticmethod
    def secret_of(key: str, partner: PartnerConfig) -> str:
        return partner.secret_id or f"partner-{key}-api-key"

    @staticmethod
    def env_of(key: str) -> str:
        """The variable the partner's key is injected as (tenant = partner key)."""
        return "CHAT_API_KEY_" + key.upper().replace("-", "_")

    @property
    def secrets(self) -> dict[str, str]:
        """Environment variable -> secret id, one per partner."""
        return {self.env_of(key): self.secret_of(key, partner) for key, partner in self.partners.items()}
