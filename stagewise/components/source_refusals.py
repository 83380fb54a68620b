"""SourceRefusalMetric: a log-based counter of partner keys refused for their source address, by partner.

The partner service's app writes one access-log line per request; a key used from outside its
partner's `allowedCidrs` gets a 403 and the line carries `source_refused: true` and `partner`
(app/src/chatapp/source_ranges.py). This metric counts those lines, labelled with the partner, so
the usage view (Metrics Explorer, an alert) shows refusals per partner. A log-based counter is
a DELTA INT64 metric over a filter; each label needs an extractor, whose syntax is the
value_extractor's, EXTRACT(<field>)
(https://cloud.google.com/python/docs/reference/logging/1.14.0/google.cloud.logging_v2.types.LogMetric,
https://cloud.google.com/java/docs/reference/google-cloud-logging/latest/com.google.logging.v2.LogMetricOrBuilder).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.logging import MetricMetricDescriptorArgs, MetricMetricDescriptorLabelArgs

REFUSED_FIELD = "source_refused"  # chatapp.source_ranges.REFUSED_FIELD
PARTNER_FIELD = "partner"


@dataclass
class SourceRefusalMetricArgs:
    project: pulumi.Input[str]
    service_name: pulumi.Input[str]


class SourceRefusalMetric(pulumi.ComponentResource):
    def __init__(self, name: str, args: SourceRefusalMetricArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:SourceRefusalMetric", name, None, opts)
        log_filter = pulumi.Output.concat(
            'resource.type="cloud_run_revision" AND resource.labels.service_name="',
            args.service_name,
            f'" AND jsonPayload.{REFUSED_FIELD}=true',
        )
        self.metric = gcp.logging.Metric(
            name,
            project=args.project,
            name=pulumi.Output.concat(args.service_name, "-source-refusals"),
            description="Partner API keys refused because the request came from outside the partner's allowedCidrs",
            filter=log_filter,
            metric_descriptor=MetricMetricDescriptorArgs(
                metric_kind="DELTA", value_type="INT64", unit="1",
                labels=[MetricMetricDescriptorLabelArgs(key=PARTNER_FIELD, value_type="STRING", description="the partner whose key was refused")],
            ),
            label_extractors={PARTNER_FIELD: f"EXTRACT(jsonPayload.{PARTNER_FIELD})"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.metric_type: pulumi.Output[str] = self.metric.name.apply(lambda n: f"logging.googleapis.com/user/{n}")
        self.register_outputs({"metric_type": self.metric_type})
