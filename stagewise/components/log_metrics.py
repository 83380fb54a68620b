"""ErrorLogMetric: a log-based metric counting a Cloud Run service's error entries (logging from day one)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.logging import MetricMetricDescriptorArgs


@dataclass
class ErrorLogMetricArgs:
    project: pulumi.Input[str]
    service_name: pulumi.Input[str]


class ErrorLogMetric(pulumi.ComponentResource):
    def __init__(self, name: str, args: ErrorLogMetricArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ErrorLogMetric", name, None, opts)
        log_filter = pulumi.Output.concat(
            'resource.type="cloud_run_revision" AND resource.labels.service_name="',
            args.service_name,
            '" AND severity>=ERROR',
        )
        self.metric = gcp.logging.Metric(
            name,
            project=args.project,
            name=pulumi.Output.concat(args.service_name, "-errors"),
            description="Error log entries of the chat service",
            filter=log_filter,
            metric_descriptor=MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64", unit="1"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.metric_type: pulumi.Output[str] = self.metric.name.apply(lambda n: f"logging.googleapis.com/user/{n}")
        self.register_outputs({"metric_type": self.metric_type})


# --- usage by tenant and model ------------------------------------------------------------------
# The app's request log line (app/src/chatapp/logs.py, metering.py) carries `tenant`, `model`,
# `prompt_tokens`, `completion_tokens`, `cost_usd` and `ttft_ms` for every answered completion.
# Distribution metrics extract a number from each matching entry, labels from other fields
# (https://cloud.google.com/logging/docs/logs-based-metrics/distribution-metrics); Cloud Monitoring
# PromQL reads a distribution as a histogram with _sum/_count/_bucket
# (https://cloud.google.com/monitoring/promql/promql-mapping), which is how the dashboard and the
# per-tenant spend alert sum them.
USAGE_LABELS = ("tenant", "model")
USAGE_VALUES: dict[str, tuple[str, str, str]] = {
    # key: (field in jsonPayload, unit, description)
    "input-tokens": ("prompt_tokens", "1", "input tokens per answered completion"),
    "output-tokens": ("completion_tokens", "1", "output tokens per answered completion"),
    "cost-usd": ("cost_usd", "USD", "cost of each answered completion at list price (the app's shipped prices)"),
    "ttft-ms": ("ttft_ms", "ms", "time to first token of each answered completion"),
}


# Anonymous callers are each their own tenant ("anon-<hash>" per client address, app auth.py): as a
# metric label that would be one time series per visitor, and a project's active time series are
# bounded. A label extractor takes REGEXP_EXTRACT with one RE2 capture group, like a value
# extractor (https://cloud.google.com/java/docs/reference/google-cloud-logging/latest/com.google.logging.v2.LogMetricOrBuilder):
# every anonymous tenant becomes the one label value "anon-" (RE2 alternation is leftmost-first),
# a named tenant keeps its name (tenant names may not start with "anon-").
TENANT_EXTRACTOR = 'REGEXP_EXTRACT(jsonPayload.tenant, "^(anon-|.+)")'


@dataclass
class UsageLogMetricsArgs:
    project: pulumi.Input[str]
    service_names: list[str]
    prefix: str = "chat"


def promql_name(metric_name: str) -> str:
    """logging.googleapis.com/user/<name> as PromQL names it: first '/' -> ':', other specials -> '_'."""
    return "logging_googleapis_com:user_" + "".join(c if c.isalnum() else "_" for c in metric_name)


class UsageLogMetrics(pulumi.ComponentResource):
    """Tokens, cost and TTFT (distributions) and errors (a counter), each labelled by tenant and model."""

    def __init__(self, name: str, args: UsageLogMetricsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:UsageLogMetrics", name, None, opts)
        if not args.service_names:
            raise ValueError("service_names is empty; name the Cloud Run services whose usage to count")
        quoted = ", ".join(f'"{s}"' for s in args.service_names)
        services = f'resource.type="cloud_run_revision" AND resource.labels.service_name=one_of({quoted})'
        labels = [
            gcp.logging.MetricMetricDescriptorLabelArgs(key=key, value_type="STRING", description=f"the request's {key}")
            for key in USAGE_LABELS
        ]
        extractors = {key: f"EXTRACT(jsonPayload.{key})" for key in USAGE_LABELS}
        extractors["tenant"] = TENANT_EXTRACTOR
        child = pulumi.ResourceOptions(parent=self)
        self.metric_names: dict[str, str] = {}
        self.metrics: dict[str, gcp.logging.Metric] = {}
        for key, (payload_field, unit, description) in USAGE_VALUES.items():
            metric_name = f"{args.prefix}-{key}"
            self.metric_names[key] = metric_name
            self.metrics[key] = gcp.logging.Metric(
                f"{name}-{key}",
                project=args.project,
                name=metric_name,
                description=f"Chat service: {description}, by tenant and model",
                filter=f"{services} AND jsonPayload.{payload_field}>=0",
                value_extractor=f"EXTRACT(jsonPayload.{payload_field})",
                label_extractors=extractors,
                metric_descriptor=MetricMetricDescriptorArgs(
                    metric_kind="DELTA", value_type="DISTRIBUTION", unit=unit, labels=labels
                ),
                bucket_options=gcp.logging.MetricBucketOptionsArgs(
                    exponential_buckets=gcp.logging.MetricBucketOptionsExponentialBucketsArgs(
                        num_finite_buckets=32, growth_factor=2, scale=0.000001 if unit == "USD" else 1
                    )
                ),
                opts=child,
            )
        errors_name = f"{args.prefix}-errors-by-tenant"
        self.metric_names["errors"] = errors_name
        self.metrics["errors"] = gcp.logging.Metric(
            f"{name}-errors",
            project=args.project,
            name=errors_name,
            description="Chat service: error entries, by tenant and model",
            filter=f"{services} AND severity>=ERROR",
            label_extractors=extractors,
            metric_descriptor=MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64", unit="1", labels=labels),
            opts=child,
        )
        self.register_outputs({"metric_names": self.metric_names})
