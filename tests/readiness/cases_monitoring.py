"""Fixtures: Cloud Monitoring (uptime checks, alert conditions and metric types, notification channels, dashboards)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp
from cases_edge import lb
from harness import PROJECT, fail, ok
from pulumi_gcp import compute, monitoring

RUN_FILTER = 'resource.type="cloud_run_revision" AND resource.labels.service_name="chat" AND metric.type="{metric}"'


def uptime(host: str = "chat.acme-corp.net", path: str = "/health", period: str | None = "60s", timeout: str = "10s",
           regions: Sequence[str] | None = None, kind: str = "uptime_url", checker: str | None = None,
           with_lb: bool = False) -> Callable[[], None]:
    def program() -> None:
        if with_lb:
            lb(domains=(host,))()
        monitoring.UptimeCheckConfig(
            "uptime", display_name="uptime", project=PROJECT, period=period, timeout=timeout, checker_type=checker,
            selected_regions=list(regions) if regions is not None else None,
            http_check=monitoring.UptimeCheckConfigHttpCheckArgs(path=path, port=443, use_ssl=True),
            monitored_resource=monitoring.UptimeCheckConfigMonitoredResourceArgs(type=kind, labels={"host": host, "project_id": PROJECT}),
        )

    return program


def _aggregation(aligner: str | None = "ALIGN_RATE", reducer: str | None = "REDUCE_SUM", period: str | None = "60s") -> dict[str, Any]:
    return {"per_series_aligner": aligner, "cross_series_reducer": reducer, "alignment_period": period}


def alert(filter_: str, *, duration: str = "300s", aggregations: Sequence[dict[str, Any]] | None = None, absent: bool = False,
          opts: pulumi.ResourceOptions | None = None) -> None:
    body: dict[str, Any] = {"filter": filter_, "duration": duration,
                            "aggregations": list(aggregations) if aggregations is not None else [_aggregation()]}
    condition: dict[str, Any] = {"display_name": "c"}
    if absent:
        condition["condition_absent"] = body
    else:
        condition["condition_threshold"] = {**body, "comparison": "COMPARISON_GT", "threshold_value": 1}
    monitoring.AlertPolicy("alert", display_name="alert", project=PROJECT, combiner="OR", conditions=[condition], opts=opts)


def run_alert(metric: str = "run.googleapis.com/request_count", **kwargs: Any) -> Callable[[], None]:
    def program() -> None:
        alert(RUN_FILTER.format(metric=metric), **kwargs)

    return program


def filtered(filter_: str, **kwargs: Any) -> Callable[[], None]:
    def program() -> None:
        alert(filter_, **kwargs)

    return program


def vm_alert(image: str, metric: str = "agent.googleapis.com/gpu/utilization", script: str | None = None) -> Callable[[], None]:
    def program() -> None:
        compute.RegionInstanceTemplate(
            "vm", name_prefix="vm-", region="us-central1", machine_type="g2-standard-8", metadata_startup_script=script,
            disks=[compute.RegionInstanceTemplateDiskArgs(source_image=image, boot=True, disk_size_gb=50)],
            network_interfaces=[compute.RegionInstanceTemplateNetworkInterfaceArgs(network="default")],
            scheduling=compute.RegionInstanceTemplateSchedulingArgs(on_host_maintenance="TERMINATE"),
        )
        alert(f'resource.type="gce_instance" AND metric.type="{metric}"', aggregations=[_aggregation("ALIGN_MEAN", "REDUCE_MAX")])

    return program


def log_metric_alert(declare: bool, wait: bool) -> Callable[[], None]:
    def program() -> None:
        name: pulumi.Input[str] = "chat-errors"
        deps = None
        if declare:
            metric = gcp.logging.Metric("errors", name="chat-errors", filter='severity>=ERROR',
                                        metric_descriptor={"metric_kind": "DELTA", "value_type": "INT64"})
            if wait:
                name = metric.name
        flt = pulumi.Output.concat('resource.type="cloud_run_revision" AND metric.type="logging.googleapis.com/user/', name, '"')
        alert(flt, opts=deps)  # type: ignore[arg-type]

    return program


def workload_alert(descriptor: bool) -> Callable[[], None]:
    def program() -> None:
        metric = "workload.googleapis.com/vllm.num_requests_waiting"
        opts = None
        if descriptor:
            described = monitoring.MetricDescriptor("desc", type=metric, metric_kind="GAUGE", value_type="DOUBLE", display_name="waiting")
            opts = pulumi.ResourceOptions(depends_on=[described])
        alert(f'resource.type="gce_instance" AND metric.type="{metric}"', aggregations=[_aggregation("ALIGN_MEAN", "REDUCE_MAX")], opts=opts)

    return program


def channel(address: str | None = "oncall@acme-corp.net", kind: str = "email", labels: dict[str, str] | None = None,
            sensitive: dict[str, str] | None = None) -> Callable[[], None]:
    def program() -> None:
        chosen = labels if labels is not None else ({"email_address": address} if address is not None else {})
        monitoring.NotificationChannel("email", display_name="on-call", project=PROJECT, type=kind, labels=chosen,
                                       sensitive_labels=sensitive)  # type: ignore[arg-type]

    return program


def dashboard(document: str) -> Callable[[], None]:
    def program() -> None:
        monitoring.Dashboard("dash", project=PROJECT, dashboard_json=document)

    return program


GOOD_DASHBOARD = json.dumps({"displayName": "chat", "mosaicLayout": {"columns": 48, "tiles": []}})

CASES = [
    # uptime checks
    fail("mon-uptime-period", uptime(period="120s"), resource="uptime", field="period"),
    fail("mon-uptime-period", uptime(period="5m"), id="unit", field="period"),
    ok("mon-uptime-period", uptime(period="900s")),
    ok("mon-uptime-period", uptime(period=None), id="default"),
    fail("mon-uptime-timeout", uptime(timeout="90s"), resource="uptime", field="timeout"),
    fail("mon-uptime-timeout", uptime(timeout="0.5s"), id="too-short", field="timeout"),
    ok("mon-uptime-timeout", uptime(timeout="60s")),
    fail("mon-uptime-regions", uptime(regions=["EUROPE", "ASIA_PACIFIC"]), resource="uptime", field="selectedRegions"),
    ok("mon-uptime-regions", uptime(regions=["USA"])),
    ok("mon-uptime-regions", uptime(regions=["USA_OREGON", "USA_IOWA", "EUROPE"]), id="three"),
    fail("mon-uptime-checker-type", uptime(kind="servicedirectory_service", checker="STATIC_IP_CHECKERS"), resource="uptime", field="checkerType"),
    ok("mon-uptime-checker-type", uptime(kind="servicedirectory_service", checker="VPC_CHECKERS")),
    fail("mon-uptime-reserved-path", uptime(path="/healthz", with_lb=True), resource="uptime", field="httpCheck.path"),
    fail("mon-uptime-reserved-path", uptime(host="chat-abc123-uc.a.run.app", path="_ah/health"), id="run-app", field="httpCheck.path"),
    ok("mon-uptime-reserved-path", uptime(path="/health", with_lb=True)),
    ok("mon-uptime-reserved-path", uptime(host="status.acme-corp.net", path="/healthz"), id="not-cloud-run"),
    # alert conditions
    fail("mon-alert-duration", run_alert(duration="90s"), resource="alert", field="conditions[0].conditionThreshold.duration"),
    fail("mon-alert-duration", run_alert(duration="5m", absent=True), id="absent-unit", field="conditions[0].conditionAbsent.duration"),
    ok("mon-alert-duration", run_alert(duration="0s")),
    ok("mon-alert-duration", run_alert(duration="600s", absent=True), id="absent"),
    fail("mon-alert-aggregation", run_alert(aggregations=[_aggregation(period="30s")]), resource="alert",
         field="conditions[0].conditionThreshold.aggregations[0].alignmentPeriod"),
    fail("mon-alert-aggregation", run_alert(aggregations=[_aggregation(period=None)]), id="no-period",
         field="conditions[0].conditionThreshold.aggregations[0].alignmentPeriod"),
    fail("mon-alert-aggregation", run_alert(aggregations=[_aggregation(aligner=None)]), id="reducer-without-aligner",
         field="conditions[0].conditionThreshold.aggregations[0].perSeriesAligner"),
    ok("mon-alert-aggregation", run_alert(aggregations=[_aggregation(), _aggregation(aligner="ALIGN_NONE", reducer=None, period=None)])),
    fail("mon-aligner-distribution", run_alert("run.googleapis.com/request_latencies"), resource="alert",
         field="conditions[0].conditionThreshold.aggregations[0].perSeriesAligner"),
    ok("mon-aligner-distribution", run_alert("run.googleapis.com/request_latencies",
                                             aggregations=[_aggregation("ALIGN_DELTA", "REDUCE_PERCENTILE_95")])),
    ok("mon-aligner-distribution", run_alert("run.googleapis.com/request_count"), id="count-rate"),
    fail("mon-metric-unknown-type", run_alert("run.googleapis.com/container/cpu/utilization", aggregations=[_aggregation("ALIGN_PERCENTILE_95", "REDUCE_MAX")]),
         resource="alert", field="conditions[0].conditionThreshold.filter"),
    ok("mon-metric-unknown-type", run_alert("run.googleapis.com/container/cpu/utilizations", aggregations=[_aggregation("ALIGN_PERCENTILE_95", "REDUCE_MAX")])),
    fail("mon-metric-resource-mismatch", filtered('resource.type="gce_instance" AND metric.type="run.googleapis.com/request_count"'),
         resource="alert", field="conditions[0].conditionThreshold.filter"),
    fail("mon-metric-resource-mismatch", filtered('metric.type="agent.googleapis.com/memory/percent_used" AND resource.type="cloud_run_revision"'),
         id="agent-on-run", field="conditions[0].conditionThreshold.filter"),
    ok("mon-metric-resource-mismatch", run_alert()),
    ok("mon-metric-resource-mismatch", filtered('metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url"'),
       id="unlisted-service"),
    fail("mon-agent-metric-without-agent", vm_alert("projects/cos-cloud/global/images/family/cos-stable"), resource="alert",
         field="conditions[0].conditionThreshold.filter"),
    ok("mon-agent-metric-without-agent", vm_alert("projects/debian-cloud/global/images/family/debian-12")),
    ok("mon-agent-metric-without-agent", vm_alert("projects/cos-cloud/global/images/family/cos-stable",
                                                  metric="compute.googleapis.com/instance/cpu/utilization"), id="built-in-metric"),
    fail("mon-written-metric-missing", workload_alert(descriptor=False), resource="alert", field="conditions[0].conditionThreshold.filter"),
    ok("mon-written-metric-missing", workload_alert(descriptor=True)),
    fail("mon-log-metric-missing", log_metric_alert(declare=False, wait=False), resource="alert", field="conditions[0].conditionThreshold.filter"),
    fail("mon-log-metric-missing", log_metric_alert(declare=True, wait=False), id="no-wait", field="conditions[0].conditionThreshold.filter"),
    ok("mon-log-metric-missing", log_metric_alert(declare=True, wait=True)),
    fail("mon-log-metric-propagation", log_metric_alert(declare=True, wait=True), resource="alert"),
    ok("mon-log-metric-propagation", run_alert()),
    # channels and dashboards
    fail("mon-channel-labels", channel(address=None), resource="email", field="labels.email_address"),
    fail("mon-channel-labels", channel(address="oncall"), id="not-an-address", field="labels.email_address"),
    fail("mon-channel-labels", channel(kind="slack", labels={"channel_name": "#ops", "auth_token": "t"}, sensitive={"auth_token": "t"}),
         id="credential-twice", field="sensitiveLabels.authToken"),
    ok("mon-channel-labels", channel()),
    ok("mon-channel-labels", channel(kind="slack", labels={"channel_name": "#ops"}, sensitive={"auth_token": "t"}), id="slack"),
    fail("mon-channel-placeholder", channel("oncall@example.com"), resource="email", field="labels.email_address"),
    ok("mon-channel-placeholder", channel("oncall@acme-corp.net")),
    fail("mon-dashboard-json", dashboard('{"displayName": "chat",'), resource="dash", field="dashboardJson"),
    fail("mon-dashboard-json", dashboard(json.dumps({"mosaicLayout": {"columns": 48}})), id="no-name", field="dashboardJson"),
    ok("mon-dashboard-json", dashboard(GOOD_DASHBOARD)),
]
