"""What Alerting watches: one `Signal` per alert (threshold filter or PromQL) with its runbook, for the
chat services, the inference endpoint by mode, the uptime check and per-tenant spend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_gcp.monitoring import (
    AlertPolicyConditionConditionThresholdAggregationArgs,
    AlertPolicyConditionConditionThresholdDenominatorAggregationArgs,
)

from stagewise.components.alerting.args import AlertingArgs, InferenceSignals, Thresholds
from stagewise.components.log_metrics import promql_name


@dataclass
class Signal:
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


def aggregation(signal: Signal) -> AlertPolicyConditionConditionThresholdAggregationArgs:
    return AlertPolicyConditionConditionThresholdAggregationArgs(
        alignment_period=signal.period,
        per_series_aligner=signal.aligner,
        cross_series_reducer=signal.reducer,
        group_by_fields=list(signal.group_by),
    )


def denominator_aggregation(signal: Signal) -> AlertPolicyConditionConditionThresholdDenominatorAggregationArgs:
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


def service_signals(args: AlertingArgs) -> list[Signal]:
    t = args.thresholds
    services = _cloud_run(args.service_names)
    if isinstance(args.max_instances, Mapping):
        groups = [(f"instances-near-max-{name}", [name], args.max_instances[name]) for name in args.service_names]
    else:
        groups = [("instances-near-max", list(args.service_names), args.max_instances)]
    return [*_request_signals(services, t), *(_instances_signal(key, names, maximum, t) for key, names, maximum in groups)]


def _instances_signal(key: str, names: list[str], maximum: int, t: Thresholds) -> Signal:
    limit = round(maximum * t.instance_ratio, 2)
    which = "" if key == "instances-near-max" else f"{names[0]}: "
    return Signal(
        key=key,
        title=f"{which}instances above {t.instance_ratio:.0%} of max ({maximum})",
        severity="WARNING",
        threshold=limit,
        filter=f'{_cloud_run(names)} AND metric.type="run.googleapis.com/container/instance_count"',
        aligner="ALIGN_MAX",
        reducer="REDUCE_SUM",
        group_by=(*_BY_SERVICE, "resource.label.location"),
        runbook=runbook(
            f"A service runs more than {limit:g} instances in a region (its maximum is {maximum}): requests will queue and fail soon.",
            [
                "Check whether the traffic is legitimate (load balancer logs, Cloud Armor rate-limit hits).",
                "If legitimate: raise the service's maxInstances (mind the budget) or concurrency; if not, tighten the Cloud Armor rate limit.",
            ],
        ),
    )


def _request_signals(services: str, t: Thresholds) -> list[Signal]:
    requests = f'{services} AND metric.type="run.googleapis.com/request_count"'
    return [
        Signal(
            key="error-ratio",
            title=f"5xx ratio above {t.error_ratio:.0%}",
            severity="CRITICAL",
            threshold=t.error_ratio,
            filter=f'{requests} AND metric.labels.response_code_class="5xx"',
            denominator=requests,
            group_by=_BY_SERVICE,
            runbook=runbook(
                f"More than {t.error_ratio:.0%} of the chat service's responses are 5xx.",
                [
                    "Open the service's logs (Cloud Run → service → Logs, severity>=ERROR) and find the dominant error.",
                    "If errors started with a deploy: roll back (move traffic to the previous revision, or set the canary track weight to 0).",
                    "If the model is failing (upstream errors, timeouts): check the inference alerts and the fallback model; the app should be falling back.",
                    "If Firestore or Secret Manager calls fail: check quotas and IAM on the service account.",
                ],
            ),
        ),
        Signal(
            key="latency-p95",
            title=f"p95 latency above {t.latency_p95_ms} ms",
            severity="WARNING",
            threshold=float(t.latency_p95_ms),
            filter=f'{services} AND metric.type="run.googleapis.com/request_latencies"',
            aligner="ALIGN_DELTA",
            reducer="REDUCE_PERCENTILE_95",
            group_by=_BY_SERVICE,
            runbook=runbook(
                f"The chat service's 95th-percentile latency is above {t.latency_p95_ms} ms.",
                [
                    "Compare with the inference latency chart: a slow model makes slow answers (streamed answers count their full duration).",
                    "Check instance count and CPU: if instances sit at the maximum, raise maxInstances or concurrency.",
                    "Check cold starts (container/startup_latencies); raise minInstances if traffic is spiky.",
                ],
            ),
        ),
    ]


def inference_signals(inference: InferenceSignals, t: Thresholds) -> list[Signal]:
    error_runbook = runbook(
        f"More than {t.inference_error_ratio:.0%} of inference requests fail.",
        [
            "Check the endpoint's logs and replica health (Vertex AI endpoint page, Cloud Run service, or the instance group's health).",
            "Confirm the chat service is falling back to the managed model (CHAT_FALLBACK_MODEL) so users still get answers.",
            "If GPUs are exhausted or a zone is out of capacity: scale the other region/replicas, or shift traffic to the fallback.",
        ],
    )
    latency_runbook = runbook(
        f"Inference p95 latency is above {t.inference_latency_p95_ms} ms.",
        [
            "Check GPU utilization: saturated GPUs queue requests; add replicas or raise the maximum.",
            "Check prompt sizes and max tokens in the active prompt version; a new version may generate much longer answers.",
        ],
    )
    gpu_runbook = runbook(
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
            Signal(
                key="inference-errors", title=f"inference error ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
                threshold=t.inference_error_ratio, runbook=error_runbook, group_by=by_endpoint,
                filter=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/error_count"', inference.target),
                denominator=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/prediction_count"', inference.target),
            ),
            Signal(
                key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
                threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook, group_by=by_endpoint,
                aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95",
                filter=_with_target(f'{endpoint} AND metric.type="aiplatform.googleapis.com/prediction/online/prediction_latencies"', inference.target),
            ),
            Signal(
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
            Signal(
                key="inference-errors", title=f"inference 5xx ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
                threshold=t.inference_error_ratio, runbook=error_runbook, group_by=_BY_SERVICE,
                filter=_with_target(f'{requests} AND metric.labels.response_code_class="5xx"', inference.target),
                denominator=_with_target(requests, inference.target),
            ),
            Signal(
                key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
                threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook, group_by=_BY_SERVICE,
                aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_95",
                filter=_with_target(f'{service} AND metric.type="run.googleapis.com/request_latencies"', inference.target),
            ),
            Signal(
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
    # gpu-vm: each pool's collector scrapes under the pool's VM name prefix (stagewise/components/inference/gpu_vm.py).
    job = inference.target if inference.mode == "gpu-vm" and isinstance(inference.target, str) else inference.prometheus_job
    window = "5m"
    # vLLM's server metrics (https://docs.vllm.ai/en/stable/usage/metrics/): request_success_total by
    # finished_reason, e2e_request_latency_seconds, num_requests_waiting. COS has no agent for GPU
    # utilization, so saturation is measured where it hurts: requests queued behind a full batch.
    queue_runbook = runbook(
        "Requests have been queuing on the model servers: every batch slot or the KV cache is full.",
        [
            "Raise maxReplicas of the instance group (mind the GPU quota and the budget), or lower concurrency upstream.",
            "Check prompt sizes and max tokens in the active prompt version; long contexts fill the KV cache.",
            "If the quota is exhausted: request more GPU quota, and rely on the fallback model meanwhile.",
        ],
    )
    return [
        Signal(
            key="inference-errors", title=f"inference aborted-request ratio above {t.inference_error_ratio:.0%}", severity="CRITICAL",
            threshold=t.inference_error_ratio, runbook=error_runbook,
            promql=(
                f'sum(rate(vllm:request_success_total{{job="{job}",finished_reason="abort"}}[{window}])) '
                f'/ sum(rate(vllm:request_success_total{{job="{job}"}}[{window}])) > {t.inference_error_ratio}'
            ),
        ),
        Signal(
            key="inference-latency", title=f"inference p95 latency above {t.inference_latency_p95_ms} ms", severity="WARNING",
            threshold=float(t.inference_latency_p95_ms), runbook=latency_runbook,
            promql=(
                f'histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{{job="{job}"}}[{window}]))) '
                f"> {t.inference_latency_p95_ms / 1000:g}"
            ),
        ),
        Signal(
            key="inference-saturation", title="inference requests queued on the model servers", severity="WARNING",
            threshold=0, runbook=queue_runbook,
            promql=f'min_over_time(sum(vllm:num_requests_waiting{{job="{job}"}})[{window}:1m]) > 0',
        ),
    ]


def uptime_signal(args: AlertingArgs, check_id: pulumi.Output[str]) -> Signal:
    return Signal(
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
        runbook=runbook(
            f"https://{args.uptime_host}{args.uptime_path} fails from several checker regions: users can't reach the service.",
            [
                "Open the URL yourself. A certificate error: check the managed certificate status and the domain's DNS A record (load balancer IP).",
                "403/429: Cloud Armor is blocking the checkers; look at the security policy's logs and recent rule changes.",
                "5xx/timeouts: follow the 5xx runbook; check the backend services' health in the load balancer page.",
            ],
        ),
    )


def usage_charts(metrics: Mapping[str, str]) -> list[Signal]:
    """Dashboard-only charts of the usage log metrics (PromQL over their histograms), one line
    per tenant (a partner, in staging) and model."""
    m = {key: promql_name(value) for key, value in metrics.items()}
    charts = [
        ("usage-input-tokens", "input tokens/s by tenant and model", f"sum by (tenant, model) (rate({m['input-tokens']}_sum[5m]))"),
        ("usage-output-tokens", "output tokens/s by tenant and model", f"sum by (tenant, model) (rate({m['output-tokens']}_sum[5m]))"),
        ("usage-cost", "cost (USD) per hour by tenant", f"sum by (tenant) (increase({m['cost-usd']}_sum[1h]))"),
        ("usage-ttft", "time to first token p95 (ms) by model",
         f"histogram_quantile(0.95, sum by (le, model) (rate({m['ttft-ms']}_bucket[5m])))"),
        ("usage-errors", "errors/s by tenant and model", f"sum by (tenant, model) (rate({m['errors']}[5m]))"),
    ]
    return [Signal(key=k, title=t, severity="INFO", threshold=0, runbook="", promql=q) for k, t, q in charts]


def spend_signal(metrics: Mapping[str, str], usd: float) -> Signal:
    cost = promql_name(metrics["cost-usd"])
    return Signal(
        key="tenant-spend",
        title=f"a tenant spent more than ${usd:g} in 24 h",
        severity="WARNING",
        threshold=usd,
        promql=f"sum by (tenant) (increase({cost}_sum[1d])) > {usd:g}",
        runbook=runbook(
            f"One tenant's answers cost more than ${usd:g} over the last 24 hours (list prices, the tenant label names it).",
            [
                "Read the tenant's usage: GET /v1/usage with an admin key (by day and model).",
                "If the traffic is unexpected: set or lower its budget (CHAT_TENANT_QUOTAS daily_usd) or revoke its key.",
                "If expected: raise this threshold (stagewise:alerting.tenantDailySpendUsd) and the budget.",
            ],
        ),
    )


def runbook(summary: str, steps: list[str]) -> str:
    lines = [f"**What happened:** {summary}", "", "**What to do:**"]
    lines += [f"{index}. {step}" for index, step in enumerate(steps, start=1)]
    lines += ["", "Escalate to the platform owner if not mitigated within 30 minutes."]
    return "\n".join(lines)
