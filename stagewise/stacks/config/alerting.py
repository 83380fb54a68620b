"""`stagewise:alerting` — who is paged and when. Tokens never live in config: Slack and PagerDuty
credentials are read from Secret Manager secrets named here.

Example (Pulumi.prod.yaml)::

    stagewise:alerting:
      emails: [oncall@example.com]
      slack: {channel: "#chat-alerts", authTokenSecret: slack-alerts-token}
      thresholds: {errorRatio: 0.05, latencyP95Ms: 4000}

`uptimePath` defaults to the chat service's health path; paths Cloud Run reserves (ending in `z`)
are refused, because the check would never reach the container.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from stagewise.components.alerting.args import DEFAULT_UPTIME_PATH, check_uptime_path
from stagewise.stacks.config.base import Section

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# Keys someone might use to paste a credential straight into the stack file.
_PLAINTEXT_KEYS = {"authToken", "auth_token", "token", "serviceKey", "service_key", "password", "webhookUrl"}


def _reject_plaintext(section: str, data: Any, secret_key: str) -> Any:
    if isinstance(data, dict):
        pasted = sorted(_PLAINTEXT_KEYS & set(data))
        if pasted:
            raise ValueError(
                f"{section}.{pasted[0]}: credentials never go in the stack file; store it in Secret Manager "
                f"(gcloud secrets create …) and set {section}.{secret_key} to the secret id"
            )
    return data


def _secret_id(value: str) -> str:
    if not _SECRET_ID.match(value):
        raise ValueError(f"{value!r} is not a Secret Manager secret id; use letters, digits, - and _ (the id, not the value)")
    return value


class SlackConfig(Section):
    """A Slack channel; the bot token comes from a Secret Manager secret."""

    channel: str = Field(pattern=r"^#[a-z0-9][-_a-z0-9]{0,79}$", description="channel name, e.g. #chat-alerts")
    auth_token_secret: str = Field(description="Secret Manager secret id holding the Slack OAuth token")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        return _reject_plaintext("slack", data, "authTokenSecret")

    _secret = field_validator("auth_token_secret")(classmethod(lambda cls, v: _secret_id(v)))


class PagerDutyConfig(Section):
    """A PagerDuty service; its integration key comes from a Secret Manager secret."""

    service_key_secret: str = Field(description="Secret Manager secret id holding the PagerDuty integration key")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        return _reject_plaintext("pagerduty", data, "serviceKeySecret")

    _secret = field_validator("service_key_secret")(classmethod(lambda cls, v: _secret_id(v)))


class ThresholdsConfig(Section):
    """When an alert fires. Each condition must hold for `durationSec` before it opens an incident."""

    error_ratio: float = Field(0.05, gt=0, lt=1, description="share of 5xx responses of the chat service")
    latency_p95_ms: int = Field(4000, ge=100, le=3_600_000, description="p95 request latency of the chat service, ms")
    instance_ratio: float = Field(0.8, gt=0, le=1, description="instances as a share of maxInstances")
    inference_error_ratio: float = Field(0.05, gt=0, lt=1, description="share of failed inference requests")
    inference_latency_p95_ms: int = Field(10_000, ge=100, le=3_600_000, description="p95 inference latency, ms")
    gpu_utilization: float = Field(0.9, gt=0, le=1, description="self-hosted modes: sustained GPU utilization")
    duration_sec: int = Field(300, ge=0, le=86_400, description="how long a condition holds before it fires")

    @field_validator("duration_sec")
    @classmethod
    def _minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError(f"durationSec {value} is not whole minutes; Cloud Monitoring takes multiples of 60")
        return value


class SloConfig(Section):
    """The chat service's SLOs (stagewise/components/slo.py); prod must declare them (policy prod-requires-slo)."""

    availability: float = Field(0.995, gt=0, lt=1, description="share of requests that are not 5xx")
    latency_goal: float = Field(0.95, gt=0, lt=1, description="share of requests answered within latencyMs")
    latency_ms: int = Field(30_000, ge=100, le=3_600_000, description="latency threshold, ms (a streamed answer counts in full)")
    rolling_days: int = Field(28, ge=1, le=30, description="the SLOs' rolling compliance period, days")


class AlertingConfig(Section):
    """Notification channels, alert thresholds, the uptime check and the dashboard."""

    emails: list[str] = Field(default_factory=list, description="email addresses notified of every alert")
    slack: SlackConfig | None = Field(None, description="Slack channel notified of every alert")
    pagerduty: PagerDutyConfig | None = Field(None, description="PagerDuty service paged for every alert")
    thresholds: ThresholdsConfig = Field(default_factory=lambda: ThresholdsConfig(), description="alert thresholds")
    uptime_path: str = Field(
        DEFAULT_UPTIME_PATH, pattern=r"^/[-/_.a-zA-Z0-9]*$",
        description="path the uptime check requests (default: the chat service's health path)",
    )
    uptime_period_sec: int = Field(60, description="uptime check period: 60, 300, 600 or 900 seconds")
    dashboard: bool = Field(True, description="a Cloud Monitoring dashboard with the alerted signals")
    auto_close_days: int = Field(7, ge=1, le=30, description="incidents with no new data close after this many days")
    slo: SloConfig | None = Field(default_factory=lambda: SloConfig(), description="availability and latency SLOs with burn-rate alerts; null: none")
    tenant_daily_spend_usd: float | None = Field(
        50.0, gt=0, description="alert when one tenant's answers cost more than this in 24 h (list prices); null: no alert",
    )

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not _EMAIL.match(email):
                raise ValueError(f"emails: {email!r} is not an email address; write it like oncall@example.com")
        if len(set(value)) != len(value):
            raise ValueError("emails lists an address twice; list each once")
        return value

    _uptime_path = field_validator("uptime_path")(classmethod(lambda cls, v: check_uptime_path(v)))

    @field_validator("uptime_period_sec")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in (60, 300, 600, 900):
            raise ValueError(f"uptimePeriodSec {value}: Cloud Monitoring checks every 60, 300, 600 or 900 seconds; pick one")
        return value

    @model_validator(mode="after")
    def _someone_notified(self) -> "AlertingConfig":
        if not (self.emails or self.slack or self.pagerduty):
            raise ValueError("no notification channel; set alerting.emails (and optionally slack or pagerduty) so alerts reach someone")
        return self
