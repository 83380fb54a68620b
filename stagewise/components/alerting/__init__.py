"""Alerting: notification channels, alert policies with on-call runbooks, an uptime check on the
public endpoint, and a dashboard of the same signals.

Signals: the chat services' 5xx ratio, p95 latency and instances near their maximum; the inference
endpoint's error ratio and p95 latency, and its saturation for self-hosted modes (GPU duty cycle of
vertex dedicated GPUs, GPU utilization of cloudrun-gpu, queued requests of gpu-vm); the uptime
check. Every policy carries documentation that tells the on-call what the alert means and what to
do first.

Every signal is one that exists for the mode without us installing anything, except gpu-vm's:
Container-Optimized OS runs no Ops Agent (it is not among the agent's supported systems,
https://cloud.google.com/logging/docs/agent/ops-agent#supported_operating_systems), so the VMs run
Google's build of the OpenTelemetry Collector next to vLLM (stagewise/components/inference/vllm.py, as
https://cloud.google.com/stackdriver/docs/instrumentation/opentelemetry-collector-cos describes),
which scrapes vLLM's Prometheus metrics into Managed Service for Prometheus under the job
``prometheus_job``; the gpu-vm alerts are PromQL over those series.

Slack tokens and PagerDuty keys are read at deploy time from Secret Manager (by secret id) and
handed to the channel's sensitive labels as Pulumi secrets: they are never in the stack file. The
deployer therefore needs roles/secretmanager.secretAccessor on those secrets (and only those).

Usage::

    Alerting("alerting", AlertingArgs(
        project="my-project",
        service_names=["chat"],
        max_instances=20,
        emails=["oncall@example.com"],
        slack=SlackChannel(channel="#chat-alerts", auth_token_secret="slack-alerts-token"),
        inference=InferenceSignals(mode="vertex", target=endpoint_id),
        uptime_host="chat.example.com",
    ))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stagewise.components.lazy import lazy_exports

# Names by module, imported on first use: the settings load without pulumi_gcp (the config needs them).
_WHERE = {
    "Alerting": "component",
    "AlertingArgs": "args", "InferenceSignals": "args", "PagerDutyChannel": "args", "SlackChannel": "args",
    "Thresholds": "args", "DEFAULT_UPTIME_PATH": "args", "INFERENCE_MODES": "args", "UPTIME_PERIODS": "args",
    "check_uptime_path": "args",
    "UsageDashboard": "dashboard",
}
__all__ = [
    "Alerting",
    "AlertingArgs",
    "DEFAULT_UPTIME_PATH",
    "INFERENCE_MODES",
    "InferenceSignals",
    "PagerDutyChannel",
    "SlackChannel",
    "Thresholds",
    "UPTIME_PERIODS",
    "UsageDashboard",
    "check_uptime_path",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)


if TYPE_CHECKING:
    from stagewise.components.alerting.args import (
        DEFAULT_UPTIME_PATH,
        INFERENCE_MODES,
        UPTIME_PERIODS,
        AlertingArgs,
        InferenceSignals,
        PagerDutyChannel,
        SlackChannel,
        Thresholds,
        check_uptime_path,
    )
    from stagewise.components.alerting.component import Alerting
    from stagewise.components.alerting.dashboard import UsageDashboard
