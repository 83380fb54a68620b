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
