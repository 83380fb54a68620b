"""`stagewise:usage` — the traffic a stage is expected to carry, which drives its monthly cost.

Every field is optional in the stack file: an unset field takes the stage's default from
`STAGE_DEFAULTS` (the lab report's scenario), so a stack only writes what it knows better.
The cost estimator (`stagewise cost`) resolves the two into one `UsageProfile`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from pydantic import Field, field_validator

from stagewise.stacks.config.base import Section


@dataclass(frozen=True)
class UsageProfile:
    """A complete usage profile: every figure the estimator multiplies a unit price by."""

    requests_per_month: float
    input_tokens_per_request: float
    output_tokens_per_request: float
    fallback_share: float
    backend_seconds_per_request: float
    firestore_reads_per_request: float
    firestore_writes_per_request: float
    firestore_deletes_per_request: float
    firestore_gb: float
    bucket_gb: dict[str, float]
    bucket_class_a_ops: float
    bucket_class_b_ops: float
    log_gb: float
    flow_log_gb: float
    egress_gb: float
    ingress_gb: float
    nat_gb: float
    image_gb: float
    secret_accesses: float
    metric_mib: float
    vm_hours: float
    gpu_service_hours: float
    endpoint_hours: float

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_overrides(self, overrides: dict[str, Any]) -> "UsageProfile":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown usage field(s) {unknown}; known: {', '.join(sorted(known))}")
        return replace(self, **overrides)


# Documented meaning of each figure, shown next to the estimate's assumptions.
USAGE_DOCS: dict[str, str] = {
    "requests_per_month": "chat requests served per month",
    "input_tokens_per_request": "prompt tokens sent to the model per request (system prompt + history + message)",
    "output_tokens_per_request": "tokens the model generates per request",
    "fallback_share": "share of requests answered by the fallback model (0..1)",
    "backend_seconds_per_request": "billable Cloud Run instance-seconds per request (streaming time shared by concurrent requests)",
    "firestore_reads_per_request": "Firestore document reads per request (profile + recent history)",
    "firestore_writes_per_request": "Firestore document writes per request (user message, answer, profile)",
    "firestore_deletes_per_request": "Firestore deletes per request (TTL expiry of old messages)",
    "firestore_gb": "GiB stored in Firestore (history + profiles + index overhead)",
    "bucket_gb": "GiB stored per bucket, by bucket class (data, logs, backups, analytics, other)",
    "bucket_class_a_ops": "Class A operations (writes, lists) per bucket per month",
    "bucket_class_b_ops": "Class B operations (reads) per bucket per month",
    "log_gb": "GiB of logs ingested into Cloud Logging per month (whole project)",
    "flow_log_gb": "GiB of VPC flow logs per subnet with flow logging on, per month (vended network logs)",
    "egress_gb": "GiB sent to users over the internet per month",
    "ingress_gb": "GiB received from users per month (load balancer inbound data processing)",
    "nat_gb": "GiB through Cloud NAT per month (image and model-weight pulls, outbound API calls)",
    "image_gb": "GiB of container images kept in Artifact Registry",
    "secret_accesses": "Secret Manager access operations per month",
    "metric_mib": "MiB of chargeable metric samples per user-defined (log-based or custom) metric per month",
    "vm_hours": "hours each VM / managed-instance-group instance runs per month (730 = always on)",
    "gpu_service_hours": "hours a scale-to-zero GPU Cloud Run service has an instance up per month",
    "endpoint_hours": "hours each Vertex AI endpoint replica runs per month (730 = always on)",
}

_BASE = UsageProfile(
    requests_per_month=10_000,
    input_tokens_per_request=1_000,
    output_tokens_per_request=300,
    fallback_share=0.02,
    backend_seconds_per_request=0.5,
    firestore_reads_per_request=6,
    firestore_writes_per_request=3,
    firestore_deletes_per_request=2,
    firestore_gb=0.5,
    bucket_gb={"data": 1.0, "logs": 2.0, "backups": 2.0, "analytics": 1.0, "other": 1.0},
    bucket_class_a_ops=10_000,
    bucket_class_b_ops=50_000,
    log_gb=1.0,
    flow_log_gb=1.0,
    egress_gb=1.0,
    ingress_gb=0.5,
    nat_gb=20.0,
    image_gb=1.0,
    secret_accesses=5_000,
    metric_mib=1.0,
    vm_hours=730,
    gpu_service_hours=100,
    endpoint_hours=730,
)

# The lab report's scenario per stage: an MVP with a handful of users, partner testing with a few
# partners' teams, production with real traffic. Requests drive tokens, Firestore, logs and egress.
STAGE_DEFAULTS: dict[str, UsageProfile] = {
    "mvp": _BASE,
    "staging": replace(
        _BASE,
        requests_per_month=50_000,
        firestore_gb=1.0,
        bucket_gb={"data": 2.0, "logs": 5.0, "backups": 2.0, "analytics": 3.0, "other": 1.0},
        log_gb=5.0,
        egress_gb=3.0,
        ingress_gb=1.5,
        image_gb=3.0,
        secret_accesses=20_000,
    ),
    "prod": replace(
        _BASE,
        requests_per_month=300_000,
        firestore_gb=5.0,
        bucket_gb={"data": 10.0, "logs": 30.0, "backups": 20.0, "analytics": 10.0, "other": 2.0},
        log_gb=30.0,
        flow_log_gb=5.0,
        egress_gb=15.0,
        ingress_gb=6.0,
        nat_gb=50.0,
        image_gb=5.0,
        secret_accesses=100_000,
        gpu_service_hours=730,
    ),
}


class UsageConfig(Section):
    """Overrides of the stage's default usage profile; unset fields keep the stage default."""

    requests_per_month: float | None = Field(None, ge=0, description=USAGE_DOCS["requests_per_month"])
    input_tokens_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["input_tokens_per_request"])
    output_tokens_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["output_tokens_per_request"])
    fallback_share: float | None = Field(None, ge=0, le=1, description=USAGE_DOCS["fallback_share"])
    backend_seconds_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["backend_seconds_per_request"])
    firestore_reads_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["firestore_reads_per_request"])
    firestore_writes_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["firestore_writes_per_request"])
    firestore_deletes_per_request: float | None = Field(None, ge=0, description=USAGE_DOCS["firestore_deletes_per_request"])
    firestore_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["firestore_gb"])
    bucket_gb: dict[str, float] | None = Field(None, description=USAGE_DOCS["bucket_gb"])
    bucket_class_a_ops: float | None = Field(None, ge=0, description=USAGE_DOCS["bucket_class_a_ops"])
    bucket_class_b_ops: float | None = Field(None, ge=0, description=USAGE_DOCS["bucket_class_b_ops"])
    log_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["log_gb"])
    flow_log_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["flow_log_gb"])
    egress_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["egress_gb"])
    ingress_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["ingress_gb"])
    nat_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["nat_gb"])
    image_gb: float | None = Field(None, ge=0, description=USAGE_DOCS["image_gb"])
    secret_accesses: float | None = Field(None, ge=0, description=USAGE_DOCS["secret_accesses"])
    metric_mib: float | None = Field(None, ge=0, description=USAGE_DOCS["metric_mib"])
    vm_hours: float | None = Field(None, ge=0, le=744, description=USAGE_DOCS["vm_hours"])
    gpu_service_hours: float | None = Field(None, ge=0, le=744, description=USAGE_DOCS["gpu_service_hours"])
    endpoint_hours: float | None = Field(None, ge=0, le=744, description=USAGE_DOCS["endpoint_hours"])

    @field_validator("bucket_gb")
    @classmethod
    def _bucket_sizes(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for key, size in (value or {}).items():
            if size < 0:
                raise ValueError(f"bucketGb.{key} is negative ({size}); give the GiB stored, 0 or more")
        return value

    def resolve(self, stage: str) -> UsageProfile:
        """The stage's defaults with every field set here taking precedence."""
        if stage not in STAGE_DEFAULTS:
            raise ValueError(f"no usage defaults for stage {stage!r}; stages: {', '.join(STAGE_DEFAULTS)}")
        base = STAGE_DEFAULTS[stage]
        overrides: dict[str, Any] = {k: v for k, v in self.model_dump().items() if v is not None}
        if "bucket_gb" in overrides:
            overrides["bucket_gb"] = {**base.bucket_gb, **overrides["bucket_gb"]}
        return base.with_overrides(overrides)
