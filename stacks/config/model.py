"""The whole stack configuration: every `stagewise:*` key, declared once with type, default and doc."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from stagewise.stacks.config.base import Section
from stagewise.stacks.config.budget import BudgetConfig
from stagewise.stacks.config.alerting import AlertingConfig
from stagewise.stacks.config.edge import EdgeConfig
from stagewise.stacks.config.failover import FailoverConfig
from stagewise.stacks.config.inference import GpuVmInferenceConfig, InferenceConfig, ManagedInferenceConfig
from stagewise.stacks.config.network import NetworkConfig
from stagewise.stacks.config.observability import LoggingConfig
from stagewise.stacks.config.partners import PartnerServiceConfig
from stagewise.stacks.config.personas import PersonasConfig
from stagewise.stacks.config.regions import check_region
from stagewise.stacks.config.releases import ReleaseConfig
from stagewise.stacks.config.service import ServiceConfig
from stagewise.stacks.config.storage import BucketConfig, FirestoreConfig, check_bucket_keys
from stagewise.stacks.config.usage import UsageConfig

Stage = Literal["mvp", "staging", "prod"]
STAGES: tuple[str, ...] = ("mvp", "staging", "prod")


class GcpConfig(Section):
    """The `gcp:` provider keys the program reads."""

    project: str = Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$", description="Google Cloud project id")
    region: str = Field("us-central1", description="default region for regional resources")

    _region = field_validator("region")(classmethod(lambda cls, v: check_region(v)))


class LabelsConfig(Section):
    """Labels put on every labelled resource (cost reports group by them)."""

    owner: str = Field("platform", pattern=r"^[a-z0-9_-]{1,63}$", description="team that owns the stack")
    cost_center: str = Field("llm-chat", pattern=r"^[a-z0-9_-]{1,63}$", description="cost-center label")
    extra: dict[str, str] = Field(default_factory=dict, description="more labels (lowercase keys and values)")

    @field_validator("extra")
    @classmethod
    def _label_syntax(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for key, item in value.items():
            if not re.match(r"^[a-z][a-z0-9_-]{0,62}$", key) or not re.match(r"^[a-z0-9_-]{0,63}$", item):
                raise ValueError(f"label {key}={item!r}: keys and values are lowercase letters, digits, - and _ (≤63)")
        return value


class StackConfig(Section):
    """Configuration of one stagewise stack (Pulumi.<stack>.yaml)."""

    gcp: GcpConfig = Field(description="the gcp: provider keys the program reads (project, region)")
    stage: Stage = Field(description="composition to deploy: mvp, staging or prod (default: the stack name)")
    allow_stage_mismatch: bool = Field(
        False, description="let a stack named for one stage (prod, prod-eu) run another stage's composition and policy levels"
    )
    labels: LabelsConfig = Field(default_factory=lambda: LabelsConfig(), description="labels on every resource")
    service: ServiceConfig = Field(default_factory=lambda: ServiceConfig(), description="the chat service on Cloud Run")
    inference: InferenceConfig = Field(default_factory=lambda: ManagedInferenceConfig(), description="how the model is served")
    test_inference: GpuVmInferenceConfig | None = Field(None, description="staging: a small test-inference VM (gpu-vm or CPU-only)")
    partners: PartnerServiceConfig | None = Field(None, description="staging: the separate partner service and its partners")
    personas: PersonasConfig = Field(default_factory=lambda: PersonasConfig(), description="IAM members per persona")
    release: ReleaseConfig | None = Field(None, description="previous version of the chat service kept at its revision tag")
    failover: FailoverConfig | None = Field(None, description="prod: regions the chat service runs in behind the load balancer")
    firestore: FirestoreConfig = Field(default_factory=lambda: FirestoreConfig(), description="the Firestore database")
    buckets: dict[str, BucketConfig] = Field(default_factory=dict, description="buckets by key: {key: {class: …}}")
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig(), description="logging from day one")
    network: NetworkConfig | None = Field(None, description="the VPC (prod): subnets, NAT, firewall baseline")
    edge: EdgeConfig | None = Field(None, description="global HTTPS load balancer with Cloud Armor (prod)")
    alerting: AlertingConfig | None = Field(None, description="notification channels, alerts, uptime check, dashboard")
    extra_apis: list[str] = Field(default_factory=list, description="more Google APIs to enable (e.g. translate.googleapis.com)")
    usage: UsageConfig = Field(default_factory=lambda: UsageConfig(), description="expected traffic; drives the cost estimate")
    budget: BudgetConfig = Field(default_factory=lambda: BudgetConfig(), description="monthly budget (USD) and its alert thresholds")

    _buckets = field_validator("buckets")(classmethod(lambda cls, v: check_bucket_keys(v)))

    @field_validator("extra_apis")
    @classmethod
    def _api_names(cls, value: list[str]) -> list[str]:
        for api in value:
            if not api.endswith(".googleapis.com"):
                raise ValueError(f"{api!r} is not a service name; write it like translate.googleapis.com")
        return value

    @property
    def all_labels(self) -> dict[str, str]:
        return {"env": self.stage, "owner": self.labels.owner, "cost-center": self.labels.cost_center,
                "managed-by": "pulumi", "app": "stagewise", **self.labels.extra}
