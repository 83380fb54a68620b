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
Google's build of the OpenTelemetry Collector next to vLLM (stagewise/components/inference.py, as
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

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.monitoring import (
    AlertPolicyAlertStrategyArgs,
    AlertPolicyConditionArgs,
    AlertPolicyConditionConditionPrometheusQueryLanguageArgs,
    AlertPolicyConditionConditionThresholdAggregationArgs,
    AlertPolicyConditionConditionThresholdArgs,
    AlertPolicyConditionConditionThresholdDenominatorAggregationArgs,
    AlertPolicyConditionConditionThresholdTriggerArgs,
    AlertPolicyDocumentationArgs,
    NotificationChannelSensitiveLabelsArgs,
    UptimeCheckConfigHttpCheckArgs,
    UptimeCheckConfigMonitoredResourceArgs,
)

from stagewise.components.chat_service import HEALTH_PATH as SERVICE_HEALTH_PATH

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

    def __post_init__(self) -> None:
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


@dataclass
class _Signal:
    """One alerted signal: how to measure it (threshold filter or PromQL), and what to do when it fires."""

    key: str
    title: str
    severity: str
    threshold: float
    runbook: str
    filter: pulumi.Input[str] | None = None
    denominator: pulumi.Input[str] | None = None
    aligner: str = "ALIGN_RATE"
    reducer: str = "REDUCE_SUM"
    group_by: tuple[str, ...] = ()
    period: str = "60s"
    promql: pulumi.Input[str] | None = None


class Alerting(pulumi.ComponentResource):
    """Notification channels + alert policies (with runbooks) + uptime check + dashboard."""

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:Alerting", name, None, opts)
        self._name = name
        self._args = args
        self.channels = self._channels()
        # A channel's name is projects/P/notificationChannels/ID, the form alert policies and budgets take.
        channel_ids = [channel.name for channel in self.channels]

        signals = _service_signals(args)
        if args.inference is not None:
            signals += _inference_signals(args.inference, args.thresholds)
        self.uptime_check: gcp.monitoring.UptimeCheckConfig | None = None
        if args.uptime_host:
            self.uptime_check = self._uptime(args.uptime_host)
            signals.append(_uptime_signal(args, self.uptime_check.uptime_check_id))

        self.policies: dict[str, gcp.monitoring.AlertPolicy] = {
            signal.key: self._policy(signal, channel_ids) for signal in signals
        }
        self.dashboard: gcp.monitoring.Dashboard | None = None
        if args.dashboard:
            self.dashboard = gcp.monitoring.Dashboard(
                f"{name}-dashboard",
                project=args.project,
                dashboard_json=_dashboard_json(f"{args.display_prefix}: chat service", signals),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.channel_ids: list[pulumi.Output[str]] = channel_ids
        self.policy_names: dict[str, pulumi.Output[str]] = {key: p.name for key, p in self.policies.items()}
        self.register_outputs({"channel_ids": self.channel_ids, "policy_names": self.policy_names})

    def _channels(self) -> list[gcp.monitoring.NotificationChannel]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        channels = [
            gcp.monitoring.NotificationChannel(
                f"{self._name}-email-{index}",
                project=args.project,
                type="email",
                display_name=f"{args.display_prefix} on-call: {email}",
                labels={"email_address": email},
                user_labels=dict(args.labels),
                opts=child,
            )
            for index, email in enumerate(args.emails)
        ]
        if args.slack is not None:
            channels.append(
                gcp.monitoring.NotificationChannel(
                    f"{self._name}-slack",
                    project=args.project,
                    type="slack",
                    display_name=f"{args.display_prefix} Slack {args.slack.channel}",
                    labels={"channel_name": args.slack.channel},
                    sensitive_labels=NotificationChannelSensitiveLabelsArgs(
                        auth_token=self._secret_value(args.slack.auth_token_secret)
                    ),
                    user_labels=dict(args.labels),
                    opts=child,
                )
            )
        if args.pagerduty is not None:
            channels.append(
                gcp.monitoring.NotificationChannel(
                    f"{self._name}-pagerduty",
                    project=args.project,
                    type="pagerduty",
                    display_name=f"{args.display_prefix} PagerDuty",
                    sensitive_labels=NotificationChannelSensitiveLabelsArgs(
                        service_key=self._secret_value(args.pagerduty.service_key_secret)
                    ),
                    user_labels=dict(args.labels),
                    opts=child,
                )
            )
        return channels

    def _secret_value(self, secret_id: str) -> pulumi.Output[str]:
        """The secret's latest version, read at deploy time and kept a Pulumi secret (encrypted in state)."""
        version = gcp.secretmanager.get_secret_version_output(
            project=self._args.project, secret=secret_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return pulumi.Output.secret(version.secret_data)

    def _uptime(self, host: str) -> gcp.monitoring.UptimeCheckConfig:
        args = self._args
        return gcp.monitoring.UptimeCheckConfig(
            f"{self._name}-uptime",
            project=args.project,
            display_name=f"{args.display_prefix}: https://{host}{args.uptime_path}",
            period=f"{args.uptime_period_sec}s",
            timeout="10s",
            checker_type="STATIC_IP_CHECKERS",
            http_check=UptimeCheckConfigHttpCheckArgs(
                path=args.uptime_path, port=443, use_ssl=True, validate_ssl=True, request_method="GET"
            ),
            monitored_resource=UptimeCheckConfigMonitoredResourceArgs(
                type="uptime_url", labels={"host": host, "project_id": args.project}
            ),
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _policy(self, signal: _Signal, channel_ids: list[pulumi.Output[str]]) -> gcp.monitoring.AlertPolicy:
        args = self._args
        duration = f"{args.thresholds.duration_sec}s"
        if signal.promql is not None:
            condition = AlertPolicyConditionArgs(
                display_name=signal.title,
                condition_prometheus_query_language=AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                    query=signal.promql, duration=duration, evaluation_interval="60s"
                ),
            )
        else:
            condition = AlertPolicyConditionArgs(
                display_name=signal.title,
                condition_threshold=AlertPolicyConditionConditionThresholdArgs(
                    filter=signal.filter,
                    aggregations=[_aggregation(signal)],
                    denominator_filter=signal.denominator,
                    denominator_aggregations=[_denominator_aggregation(signal)] if signal.denominator else None,
                    comparison="COMPARISON_GT",
                    threshold_value=signal.threshold,
                    duration="60s" if signal.key == "uptime" else duration,
                    trigger=AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
                    evaluation_missing_data="EVALUATION_MISSING_DATA_INACTIVE",
                ),
            )
        return gcp.monitoring.AlertPolicy(
            f"{self._name}-{signal.key}",
            project=args.project,
            display_name=f"{args.display_prefix}: {signal.title}",
            combiner="OR",
            severity=signal.severity,
            conditions=[condition],
            notification_channels=channel_ids,
            documentation=AlertPolicyDocumentationArgs(
                subject=f"[{signal.severity}] {args.display_prefix}: {signal.title}",
                content=signal.runbook,
                mime_type="text/markdown",
            ),
            alert_strategy=AlertPolicyAlertStrategyArgs(auto_close=f"{args.auto_close_days * 86_400}s"),
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _aggregation(signal: _Signal) -> AlertPolicyConditionConditionThresholdAggregationArgs:
    return AlertPolicyConditionConditionThresholdAggregationArgs(
        alignment_period=signal.period,
        per_series_aligner=signal.aligner,
        cross_series_reducer=signal.reducer,
        group_by_fields=list(signal.group_by),
    )


def _denominator_aggregation(signal: _Signal) -> AlertPolicyConditionConditionThresholdDenominatorAggregationArgs:
    return AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
        alignment_period=signal.period,
        per_series_aligner=signal.aligner,
        cross_series_reducer=signal.reducer,
        group_by_fields=list(signal.group_by),
    )


def _cloud_run(names: Sequence[str]) -> str:
    quoted = ", ".join(f'"{name}"' for name in names)
    return f'resource.type="cloud_run_revision" AND resource.labels.service_name=one_of({quoted})'


def _with_target(template: str, target: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(target).apply(lambda value: template.replace("{target}", str(value)))


_BY_SERVICE = ("resource.label.service_name",)


def _service_signals(args: AlertingArgs) -> list[_Signal]:
    t = args.thresholds
    services = _cloud_run(args.service_names)
    if isinstance(args.max_instances, Mapping):
        groups = [(f"instances-near-max-{name}", [name], args.max_instances[name]) for name in args.service_names]
    else:
        groups = [("instances-near-max", list(args.service_names), args.max_instances)]
    return [*_request_signals(services, t), *(_instances_signal(key, names, maximum, t) for key, names, maximum in groups)]


def _instances_signal(key: str, names: list[str], maximum: int, t: Thresholds) -> _Signal:
    limit = round(maximum * t.instance_ratio, 2)
    which = "" if key == "instances-near-max" else f"{names[0]}: "
    return _Signal(
        key=key,
        title=f"{which}instances above {t.instance_ratio:.0%} of max ({maximum})",
        severity="WARNING",
        threshold=limit,
        filter=f'{_cloud_run(names)} AND metric.type="run.googleapis.com/container/instance_count"',
        aligner="ALIGN_MAX",
        reducer="REDUCE_SUM",
        group_by=(*_BY_SERVICE, "resource.label.location"),
        runbook=_runbook(
            f"A service runs more than {limit:g} instances in a region (its maximum is {maximum}): requests will queue and fail soon.",
            [
                "Check whether the traffic is legitimate (load balancer logs, Cloud Armor rate-limit hits).",
                "If legitimate: raise the service's maxInstances (mind the budget) or concurrency; if not, tighten the Cloud Armor rate limit.",
            ],
        ),
    )


def _request_signals(services: str, t: Thresholds) -> list[_Signal]:
    requests = f'{services} AND metric.type="run.googleapis.com/request_count"'
    return [
        _Signal(
            key="error-ratio",
            title=f"5xx ratio above {t.error_ratio:.0%}",
            severity="CRITICAL",
            threshold=t.error_ratio,
            filter=f'{requests} AND metric.labels.response_code_class="5xx"',
            denominator=requests,
            group_by=_BY_SERVICE,
            runbook=_runbook(
                f"More than {t.error_ratio:.0%} of the chat service's responses are 5xx.",
                [
                    "Open the service's logs (Cloud Run → service → Logs, severity>=ERROR) and find the dominant error.",
                    "If errors started with a deploy: roll back (move traffic to the previous revision, or set the canary track weight to 0).",
                    "If the model is failing (upstream errors, timeouts): check the inference alerts and the fallback model; the app should be falling back.",
                    "If Firestore or Secret Manager calls fail: check quotas and IAM on the service account.",
                ],
            ),
        ),
        _Signal(
            key="latency-p95",
            title=f"p95 latency above {t.latency_p95_ms} ms",
            severity="WARNING",
            threshold=float(t.latency_p95_ms),
            filter=f'{services} AND metric.type="run.googleapis.com/request_latencies"',
            aligner="ALIGN_DELTA",
            reducer="REDUCE_PERCENTILE_95",
            group_by=_BY_SERVICE,
            runbook=_runbook(
                f"The chat service's 95th-percentile latency is above {t.latency_p95_ms} ms.",
                [
                    "Compare with the inference latency chart: a slow model makes slow answers (streamed answers count their full duration).",
                    "Check instance count and CPU: if instances sit at the maximum, raise maxInstances or concurrency.",
                    "Check cold starts (container/startup_latencies); raise minInstances if traffic is spiky.",
                ],
            ),
        ),
    ]


def _inference_signals(inference: InferenceSignals, t: Thresholds) -> list[_Signal]:
    error_runbook = _runbook(
        f"More than {t.inference_error_ratio:.0%} of inference requests fail.",
        [
            "Check the endpoint's logs and replica health (Vertex AI endpoint page, Cloud Run service, or the instance group's health).",
            "Confirm the chat service is falling back to the managed model (CHAT_FALLBACK_MODEL) so users still get answers.",
            "If GPUs are exhausted or a zone is out of capacity: scale the other region/replicas, or shift traffic to the fallback.",
        ],
    )
    latency_runbook = _runbook(
        f"Inference p95 latency is above {t.inference_latency_p95_ms} ms.",
        [
            "Check GPU utilization: saturated GPUs queue requests; add replicas or raise the maximum.",
            "Check prompt sizes and max tokens in the active prompt version; a new version may generate much longer answers.",
        ],
    )
    gpu_runbook = _runbook(
        f"GPU utilization stays above {t.gpu_utilization:.0%}: the model server is at capacity.",
        [
            "Raise the replica/instance maximum of the inference endpoint, or its autoscaling target.",
            "If the quota is exhausted: request more GPU quota, and rely on the fallback model meanwhile.",
        ],
    )
    if inference.mode == "vertex":
        endpoint = 'resource.type="aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id="{target}"'
        by_endpoint = ("resource.label.endpoint_id",)
        return [
            _Signal(
                key="inference-errors", title=f"inference error ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
                threshold=t.inference_error_ratio, runbook=error_runbook, group_by=by_endpoint,
                filter=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/error_count"', inference.target),
                denominator=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/prediction_count"', inference.target),
            ),
            _Signal(
                key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
                threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook, group_by=by_endpoint,
                aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95",
                filter=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/prediction_latencies"', inference.target),
            ),
            _Signal(
                key="gpu-utilization", title=f"GPU duty cycle above {t.gpu_utilization:.0%}", severity="WARNING",
                # duty_cycle is a percentage (0..100)
                threshold=round(t.gpu_utilization * 100, 2), runbook=gpu_runbook, group_by=by_endpoint,
                aligner="ALIGN_MEAN", reducer="REDUCE_MEAN",
                filter=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"', inference.target),
            ),
        ]
    if inference.mode == "cloudrun-gpu":
        service = 'resource.type="cloud_run_revision" AND resource.labels.service_name="{target}"'
        requests = f'{service} AND metric.type="run.googleapis.com/request_count"'
        return [
            _Signal(
                key="inference-errors", title=f"inference 5xx ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
                threshold=t.inference_error_ratio, runbook=error_runbook, group_by=_BY_SERVICE,
                filter=_with_target(f'{requests} AND metric.labels.response_code_class="5xx"', inference.target),
                denominator=_with_target(requests, inference.target),
            ),
            _Signal(
                key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
                threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook, group_by=_BY_SERVICE,
                aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95",
                filter=_with_target(f'{service} AND metric.type="run.googleapis.com/request_latencies"', inference.target),
            ),
            _Signal(
                key="gpu-utilization", title=f"GPU utilization above {t.gpu_utilization:.0%}", severity="WARNING",
                # "Container GPU utilization" is a built-in Cloud Run metric for services
                # (https://cloud.google.com/run/docs/monitoring, key metrics). Its type,
                # container/gpu/utilizations, follows the CPU one (container/cpu/utilizations): a
                # distribution of ratios (0..1). Google's metric list was not in the stored sources;
                # confirm with `gcloud monitoring metrics-descriptors list --filter='metric.type=starts_with("run.googleapis.com/container/gpu")'`.
                threshold=t.gpu_utilization, runbook=gpu_runbook, group_by=_BY_SERVICE,
                aligner="ALIGN_PERCENTILE_95", reducer="REDUCE_MAX",
                filter=_with_target(f'{service} AND metric.type="run.googleapis.com/container/gpu/utilizations"', inference.target),
            ),
        ]
    # gpu-vm: each pool's collector scrapes under the pool's VM name prefix (stagewise/components/inference.py).
    job = inference.target if inference.mode == "gpu-vm" and isinstance(inference.target, str) else inference.prometheus_job
    window = "5m"
    # vLLM's server metrics (https://docs.vllm.ai/en/stable/usage/metrics/): request_success_total by
    # finished_reason, e2e_request_latency_seconds, num_requests_waiting. COS has no agent for GPU
    # utilization, so saturation is measured where it hurts: requests queued behind a full batch.
    queue_runbook = _runbook(
        "Requests have been queuing on the model servers: every batch slot or the KV cache is full.",
        [
            "Raise maxReplicas of the instance group (mind the GPU quota and the budget), or lower concurrency upstream.",
            "Check prompt sizes and max tokens in the active prompt version; long contexts fill the KV cache.",
            "If the quota is exhausted: request more GPU quota, and rely on the fallback model meanwhile.",
        ],
    )
    return [
        _Signal(
            key="inference-errors", title=f"inference aborted-request ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
            threshold=t.inference_error_ratio, runbook=error_runbook,
            promql=(
                f'sum(rate(vllm:request_success_total{{job="{job}",finished_reason="abort"}}[{window}])) '
                f'/ sum(rate(vllm:request_success_total{{job="{job}"}}[{window}])) > {t.inference_error_ratio}'
            ),
        ),
        _Signal(
            key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
            threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook,
            promql=(
                f'histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{{job="{job}"}}[{window}]))) '
                f"> {t.inference_latency_p95_ms / 1000:g}"
            ),
        ),
        _Signal(
            key="inference-saturation", title="inference requests queued on the model servers", severity="WARNING",
            threshold=0, runbook=queue_runbook,
            promql=f'min_over_time(sum(vllm:num_requests_waiting{{job="{job}"}})[{window}:1m]) > 0',
        ),
    ]


def _uptime_signal(args: AlertingArgs, check_id: pulumi.Output[str]) -> _Signal:
    return _Signal(
        key="uptime",
        title=f"uptime check failing for https://{args.uptime_host}{args.uptime_path}",
        severity="CRITICAL",
        # More than one checker region failing rules out a single region's network blip.
        threshold=1,
        filter=check_id.apply(
            lambda value: 'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url" '
            f'AND metric.labels.check_id="{value}"'
        ),
        aligner="ALIGN_NEXT_OLDER",
        reducer="REDUCE_COUNT_FALSE",
        group_by=("resource.label.host",),
        period="1200s",
        runbook=_runbook(
            f"https://{args.uptime_host}{args.uptime_path} fails from several checker regions: users can't reach the service.",
            [
                "Open the URL yourself. A certificate error: check the managed certificate status and the domain's DNS A record (load balancer IP).",
                "403/429: Cloud Armor is blocking the checkers; look at the security policy's logs and recent rule changes.",
                "5xx/timeouts: follow the 5xx runbook; check the backend services' health in the load balancer page.",
            ],
        ),
    )


def _runbook(summary: str, steps: list[str]) -> str:
    lines = [f"**What happened:** {summary}", "", "**What to do:**"]
    lines += [f"{index}. {step}" for index, step in enumerate(steps, start=1)]
    lines += ["", "Escalate to the platform owner if not mitigated within 30 minutes."]
    return "\n".join(lines)


def _dashboard_json(title: str, signals: list[_Signal]) -> pulumi.Output[str]:
    queries: list[pulumi.Input[str]] = []
    for signal in signals:
        queries.append(signal.promql if signal.promql is not None else signal.filter or "")
        queries.append(signal.denominator or "")

    def render(resolved: list[Any]) -> str:
        tiles = []
        for index, signal in enumerate(signals):
            query, denominator = str(resolved[2 * index]), str(resolved[2 * index + 1])
            aggregation = {
                "alignmentPeriod": signal.period,
                "perSeriesAligner": signal.aligner,
                "crossSeriesReducer": signal.reducer,
                "groupByFields": list(signal.group_by),
            }
            series: dict[str, Any]
            if signal.promql is not None:
                # Chart the measured value; the comparison stays in the alert.
                series = {"prometheusQuery": query.rsplit(" > ", 1)[0]}
            elif denominator:
                series = {
                    "timeSeriesFilterRatio": {
                        "numerator": {"filter": query, "aggregation": aggregation},
                        "denominator": {"filter": denominator, "aggregation": aggregation},
                    }
                }
            else:
                series = {"timeSeriesFilter": {"filter": query, "aggregation": aggregation}}
            tiles.append(
                {
                    "xPos": (index % 2) * 24,
                    "yPos": (index // 2) * 16,
                    "width": 24,
                    "height": 16,
                    "widget": {
                        "title": signal.title,
                        "xyChart": {
                            "dataSets": [{"timeSeriesQuery": series, "plotType": "LINE"}],
                            "thresholds": [{"value": signal.threshold}] if signal.promql is None else [],
                        },
                    },
                }
            )
        return json.dumps({"displayName": title, "mosaicLayout": {"columns": 48, "tiles": tiles}}, sort_keys=True)

    return pulumi.Output.all(*queries).apply(render)
