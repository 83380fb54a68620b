"""Alerting's typed settings and their checks: channels, thresholds, inference signals, the uptime path.

No pulumi_gcp import: the stack config validates `stagewise:alerting` with these before any resource
module loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stagewise.components.limits import HEALTH_PATH as SERVICE_HEALTH_PATH

if TYPE_CHECKING:
    import pulumi

    from stagewise.components.slo import SloTargets

INFERENCE_MODES = frozenset({"vertex", "cloudrun-gpu", "gpu-vm"})
UPTIME_PERIODS = frozenset({60, 300, 600, 900})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def check_uptime_path(path: str) -> str:
    """A path the uptime check can reach through the load balancer to the container.

    Cloud Run reserves `/eventlog`, paths under `/_ah/` and some paths ending in `z`, and advises
    avoiding every path that ends in `z` (https://cloud.google.com/run/docs/known-issues, "Reserved
    URL paths"): a request for `/healthz` may never reach the app, so the check would fail forever.
    """
    if not path.startswith("/"):
        raise ValueError(f"uptime path {path!r} must start with /")
    if path.rstrip("/").endswith("z") or path == "/eventlog" or path.startswith("/_ah/"):
        raise ValueError(
            f"uptime path {path!r} is one Cloud Run reserves (paths ending in z, /eventlog, /_ah/) and may never reach the "
            f"container; probe the app's health path instead, e.g. {DEFAULT_UPTIME_PATH}"
        )
    return path


# The chat service's own health path (its liveness probe's): the check asks what Cloud Run asks.
DEFAULT_UPTIME_PATH = SERVICE_HEALTH_PATH


@dataclass(frozen=True)
class SlackChannel:
    """Slack channel; ``auth_token_secret`` is the id of a Secret Manager secret holding the bot token."""

    channel: str
    auth_token_secret: str

    def __post_init__(self) -> None:
        if not self.channel.startswith("#"):
            raise ValueError(f"slack channel {self.channel!r}: write it with its #, e.g. #chat-alerts")
        if not _SECRET_ID.match(self.auth_token_secret):
            raise ValueError("slack auth_token_secret must be a Secret Manager secret id (not the token itself)")


@dataclass(frozen=True)
class PagerDutyChannel:
    """PagerDuty service; ``service_key_secret`` is the id of a Secret Manager secret holding the integration key."""

    service_key_secret: str

    def __post_init__(self) -> None:
        if not _SECRET_ID.match(self.service_key_secret):
            raise ValueError("pagerduty service_key_secret must be a Secret Manager secret id (not the key itself)")


@dataclass(frozen=True)
class Thresholds:
    error_ratio: float = 0.05
    latency_p95_ms: int = 4000
    instance_ratio: float = 0.8
    inference_error_ratio: float = 0.05
    inference_latency_p95_ms: int = 10_000
    gpu_utilization: float = 0.9
    duration_sec: int = 300

    def __post_init__(self) -> None:
        for name in ("error_ratio", "inference_error_ratio", "instance_ratio", "gpu_utilization"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"thresholds.{name} {value} is a share; use a value in (0, 1]")
        if self.duration_sec % 60:
            raise ValueError(f"thresholds.duration_sec {self.duration_sec}: use whole minutes (a multiple of 60)")


@dataclass(frozen=True)
class InferenceSignals:
    """Where inference metrics come from.

    ``target`` is, by mode: vertex → the endpoint id (numeric); cloudrun-gpu → the Cloud Run service
    name; gpu-vm → the instance name prefix of the managed instance group. gpu-vm signals come from
    vLLM's Prometheus metrics, scraped on each VM by the OpenTelemetry Collector under
    ``prometheus_job`` (see the module docstring).
    """

    mode: str
    target: pulumi.Input[str]
    prometheus_job: str = "vllm"

    def __post_init__(self) -> None:
        if self.mode not in INFERENCE_MODES:
            raise ValueError(f"inference mode {self.mode!r}: use one of {', '.join(sorted(INFERENCE_MODES))} (managed has no metrics of ours)")


@dataclass
class AlertingArgs:
    project: pulumi.Input[str]
    service_names: Sequence[str]
    # The services' maximum instance count: one number for all, or {service: max} when they differ.
    max_instances: int | Mapping[str, int]
    emails: Sequence[str] = ()
    slack: SlackChannel | None = None
    pagerduty: PagerDutyChannel | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    inference: InferenceSignals | None = None
    uptime_host: str | None = None
    uptime_path: str = DEFAULT_UPTIME_PATH
    uptime_period_sec: int = 60
    dashboard: bool = True
    auto_close_days: int = 7
    display_prefix: str = "stagewise"
    labels: Mapping[str, str] = field(default_factory=dict)
    # SLOs (availability, latency) with burn-rate alerts (stagewise/components/slo.py); None: none declared
    slo: SloTargets | None = None
    # UsageLogMetrics.metric_names: tokens, cost, TTFT and errors by tenant and model on the dashboard
    usage_metrics: Mapping[str, str] | None = None
    # alert when one tenant's cost over the last 24 h passes this (needs usage_metrics)
    tenant_daily_spend_usd: float | None = None

    def __post_init__(self) -> None:
        if self.tenant_daily_spend_usd is not None and (self.tenant_daily_spend_usd <= 0 or not self.usage_metrics):
            raise ValueError("tenant_daily_spend_usd needs usage_metrics and a positive amount of USD")
        if not self.service_names:
            raise ValueError("service_names is empty; name the Cloud Run services to watch")
        maxima = self.max_instances if isinstance(self.max_instances, Mapping) else {"": self.max_instances}
        if any(value < 1 for value in maxima.values()):
            raise ValueError("max_instances must be at least 1 (the services' configured maximum)")
        if isinstance(self.max_instances, Mapping) and set(self.max_instances) != set(self.service_names):
            raise ValueError(
                f"max_instances names {sorted(self.max_instances)} but service_names are {sorted(self.service_names)}; give one maximum per service"
            )
        if not (self.emails or self.slack or self.pagerduty):
            raise ValueError("no notification channel; give emails and/or slack or pagerduty so alerts reach someone")
        for email in self.emails:
            if not _EMAIL.match(email):
                raise ValueError(f"email {email!r} is not an address; write it like oncall@example.com")
        if self.uptime_period_sec not in UPTIME_PERIODS:
            raise ValueError(f"uptime_period_sec {self.uptime_period_sec}: use 60, 300, 600 or 900")
        try:
            check_uptime_path(self.uptime_path)
        except ValueError as exc:
            raise ValueError(f"uptime_path: {exc}") from None
