"""Cloud Monitoring: uptime checks, alert policy conditions and the metrics they name, notification channels, dashboards.

Sources (read 2026-11):
- uptime checks: the provider schema (UptimeCheckConfig.yaml): period "only 60s, 300s, 600s and 900s", timeout
  "between 1 and 60 seconds", selectedRegions "a minimum of 3 locations", servicedirectory_service needs VPC_CHECKERS.
- Cloud Run reserves /eventlog, paths under /_ah/ and some paths ending in z (https://cloud.google.com/run/docs/known-issues).
- alert policies: AlertPolicy.yaml (duration a multiple of a minute; alignmentPeriod at least 60 s; aligner and
  reducer couplings). A filter naming a metric type that does not exist is refused with 404 "Cannot find metric(s)
  that match type" (cloud-foundation-fabric #3739, terraform-provider-google #11102, and for workload metrics a
  fresh project has not seen yet, world-federation-of-advertisers/cross-media-measurement #4350). Aligners that do
  not apply to DELTA DISTRIBUTION metrics are refused (google/exposure-notifications-verification-server #659,
  grafana/grafana #22634).
- metric names: https://cloud.google.com/run/docs/monitoring (Cloud Run's monitored resource types) and the
  Cloud Run metric list as mirrored by monitoring vendors (docs.observeinc.com, docs.dynatrace.com); Ops Agent
  metrics: https://cloud.google.com/monitoring/api/metrics_opsagent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import Inventory, Resource, as_list, is_unknown
from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Problem
from stagewise.readiness.rules import rule
from stagewise.readiness.rules._refs import resolve, seconds, text
from stagewise.readiness.rules.edge import (
    BACKEND_SERVICE,
    MANAGED_CERT,
    NEG,
    URL_MAP,
    _backend_groups,
    _placeholder,
    _serverless,
    _url_map_services,
)

UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
METRIC_DESCRIPTOR = "gcp:monitoring/metricDescriptor:MetricDescriptor"
LOG_METRIC = "gcp:logging/metric:Metric"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
VM_TYPES = ("gcp:compute/instance:Instance", "gcp:compute/instanceTemplate:InstanceTemplate",
            "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")

UPTIME_PERIODS = frozenset({60.0, 300.0, 600.0, 900.0})
MIN_UPTIME_LOCATIONS = 3
# selectedRegions values; USA holds three checker locations (Oregon, Iowa, Virginia), the others one each.
UPTIME_REGION_LOCATIONS = {"USA": 3}

# Monitored resource types each metric service writes to (only services whose list is sourced).
METRIC_RESOURCES: dict[str, frozenset[str]] = {
    "run.googleapis.com": frozenset({"cloud_run_revision", "cloud_run_job", "cloud_run_worker_pool"}),
    "agent.googleapis.com": frozenset({"gce_instance", "aws_ec2_instance"}),
}
# Cloud Run metric types programs use (cloud_run_revision), as listed for run.googleapis.com.
CLOUD_RUN_METRICS = frozenset({
    "run.googleapis.com/container/billable_instance_time", "run.googleapis.com/container/instance_count",
    "run.googleapis.com/container/cpu/utilizations", "run.googleapis.com/container/cpu/allocation_time",
    "run.googleapis.com/container/memory/utilizations", "run.googleapis.com/container/memory/allocation_time",
    "run.googleapis.com/container/startup_latencies", "run.googleapis.com/request_count",
    "run.googleapis.com/request_latencies", "run.googleapis.com/container/network/received_bytes_count",
    "run.googleapis.com/container/network/sent_bytes_count", "run.googleapis.com/container/max_request_concurrencies",
})
# Names that look like a Cloud Run metric but are not one: the API answers 404 "Cannot find metric(s)".
MISSPELLED_METRICS: dict[str, str] = {
    "run.googleapis.com/container/cpu/utilization": "run.googleapis.com/container/cpu/utilizations",
    "run.googleapis.com/container/memory/utilization": "run.googleapis.com/container/memory/utilizations",
    "run.googleapis.com/request_latency": "run.googleapis.com/request_latencies",
    "run.googleapis.com/request_counts": "run.googleapis.com/request_count",
    "run.googleapis.com/requests_count": "run.googleapis.com/request_count",
    "run.googleapis.com/container/instance_counts": "run.googleapis.com/container/instance_count",
    "run.googleapis.com/container/startup_latency": "run.googleapis.com/container/startup_latencies",
}
# DELTA DISTRIBUTION metrics: ALIGN_RATE and ALIGN_MEAN are refused on them ("The aligner cannot be
# applied to metrics with kind DELTA and value type DISTRIBUTION").
DELTA_DISTRIBUTIONS = frozenset({
    "run.googleapis.com/request_latencies", "run.googleapis.com/container/cpu/utilizations",
    "run.googleapis.com/container/memory/utilizations", "run.googleapis.com/container/startup_latencies",
})
DISTRIBUTION_REFUSED_ALIGNERS = frozenset({"ALIGN_RATE", "ALIGN_MEAN"})
# Metric types that exist only once something writes them (or a descriptor is created).
WRITTEN_METRIC_PREFIXES = ("workload.googleapis.com/", "custom.googleapis.com/", "prometheus.googleapis.com/",
                           "external.googleapis.com/")
LOG_METRIC_PREFIX = "logging.googleapis.com/user/"

_METRIC_TYPE = re.compile(r"metric\.type\s*=\s*\"([^\"]+)\"")
_RESOURCE_TYPE = re.compile(r"resource\.type\s*=\s*\"([^\"]+)\"")
_RESERVED_PATH = re.compile(r"^(?:/eventlog/?|/_ah/.*|.*z/?)$")


# --- helpers -----------------------------------------------------------------------------------
def _conditions(alert: Resource) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(field prefix, condition kind, body) of each condition."""
    for index, condition in enumerate(as_list(alert.get("conditions"))):
        if not isinstance(condition, dict):
            continue
        for kind in ("conditionThreshold", "conditionAbsent"):
            body = condition.get(kind)
            if isinstance(body, dict):
                yield f"conditions[{index}].{kind}", kind, body


def _filters(alert: Resource) -> Iterator[tuple[str, str]]:
    for prefix, _kind, body in _conditions(alert):
        for key in ("filter", "denominatorFilter"):
            value = text(body.get(key))
            if value:
                yield f"{prefix}.{key}", value


def _metric_types(filter_: str) -> list[str]:
    return _METRIC_TYPE.findall(filter_)


def _aggregations(alert: Resource) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(field, aggregation, the filter it aggregates)."""
    for prefix, _kind, body in _conditions(alert):
        for key, filter_key in (("aggregations", "filter"), ("denominatorAggregations", "denominatorFilter")):
            for index, item in enumerate(as_list(body.get(key))):
                if isinstance(item, dict):
                    yield f"{prefix}.{key}[{index}]", item, text(body.get(filter_key))


# --- uptime checks ------------------------------------------------------------------------------
@rule(
    "mon-uptime-period", types=(UPTIME,), severity=BLOCKS,
    title="an uptime check period is not 60s, 300s, 600s or 900s",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/UptimeCheckConfig.yaml",
)
def uptime_period(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("period")
    if value is None or is_unknown(value):
        return
    period = seconds(value)
    if period not in UPTIME_PERIODS:
        yield Problem("period", f"{resource.name}: period {value!r} is not a supported uptime check period", "set period to "
                      "'60s', '300s', '600s' or '900s'")


@rule(
    "mon-uptime-timeout", types=(UPTIME,), severity=BLOCKS,
    title="an uptime check timeout is missing, not 1-60 s, or longer than its period",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/UptimeCheckConfig.yaml",
)
def uptime_timeout(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    value = resource.get("timeout")
    if is_unknown(value):
        return
    if value is None:
        yield Problem("timeout", f"{resource.name} has no timeout; the field is required", "set timeout='10s'")
        return
    timeout = seconds(value)
    period = seconds(resource.get("period")) or 300.0
    if timeout is None or not 1 <= timeout <= 60:
        yield Problem("timeout", f"{resource.name}: timeout {value!r} must be a duration between 1s and 60s", "set timeout='10s'")
    elif timeout > period:
        yield Problem("timeout", f"{resource.name}: timeout {value} is longer than the period", "use a timeout below the period")


@rule(
    "mon-uptime-regions", types=(UPTIME,), severity=BLOCKS,
    title="an uptime check selects regions with fewer than 3 checker locations",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/UptimeCheckConfig.yaml",
)
def uptime_regions(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    regions = resource.get("selectedRegions")
    if regions is None or is_unknown(regions) or not as_list(regions):
        return
    names = {text(r).upper() for r in as_list(regions) if text(r)}
    locations = sum(UPTIME_REGION_LOCATIONS.get(name, 1) for name in names)
    if locations < MIN_UPTIME_LOCATIONS:
        yield Problem("selectedRegions", f"{resource.name} selects {', '.join(sorted(names))}: {locations} checker location(s), "
                      "fewer than the 3 GCP requires", "select at least three regions (e.g. USA_OREGON, USA_IOWA, EUROPE), or "
                      "omit selected_regions to check from all")


@rule(
    "mon-uptime-checker-type", types=(UPTIME,), severity=BLOCKS,
    title="a private (Service Directory) uptime check does not use VPC checkers",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/UptimeCheckConfig.yaml",
)
def uptime_checker_type(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    kind = text(resource.get("monitoredResource.type"))
    checker = text(resource.get("checkerType")).upper()
    if kind == "servicedirectory_service" and checker != "VPC_CHECKERS":
        yield Problem("checkerType", f"{resource.name} checks a servicedirectory_service with checker type {checker or 'unset'}; "
                      "it must be VPC_CHECKERS", "set checker_type='VPC_CHECKERS'")


def _cloud_run_hosts(inventory: Inventory) -> set[str]:
    """Host names the program's load balancers send to Cloud Run (serverless NEGs)."""
    hosts: set[str] = set()
    for proxy in inventory.of_type(HTTPS_PROXY):
        url_map = resolve(inventory, proxy, "urlMap", proxy.get("urlMap"), (URL_MAP,))
        if url_map is None:
            continue
        to_run = False
        for field, ref, _weighted in _url_map_services(url_map):
            service = resolve(inventory, url_map, field, ref, (BACKEND_SERVICE,))
            if service is not None and any(_serverless(neg) and isinstance(neg.get("cloudRun"), dict)
                                           for _, neg in _backend_groups(service, inventory)):
                to_run = True
        if not to_run:
            continue
        for index, cert_ref in enumerate(as_list(proxy.get("sslCertificates"))):
            cert = resolve(inventory, proxy, f"sslCertificates[{index}]", cert_ref, (MANAGED_CERT,))
            if cert is not None and isinstance(cert.get("managed"), dict):
                hosts.update(text(d).lower().rstrip(".") for d in as_list(cert.get("managed.domains")) if text(d))
    return hosts


@rule(
    "mon-uptime-reserved-path", types=(UPTIME,), severity=BROKEN,
    title="an uptime check probes a Cloud Run service on a path Cloud Run reserves (e.g. /healthz)",
    source="https://cloud.google.com/run/docs/known-issues",
)
def uptime_reserved_path(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    path_value = resource.get("httpCheck.path")
    if not isinstance(resource.get("httpCheck"), dict) or is_unknown(path_value):
        return
    path = "/" + (text(path_value) or "/").lstrip("/")
    path = path.split("?", 1)[0]
    if path == "/" or not _RESERVED_PATH.match(path):
        return
    kind = text(resource.get("monitoredResource.type"))
    host = text(resource.get("monitoredResource.labels.host")).lower().rstrip(".")
    to_run = kind == "cloud_run_revision" or host.endswith(".run.app") or (host and host in _cloud_run_hosts(inventory))
    if not to_run:
        return
    yield Problem("httpCheck.path", f"{resource.name} probes {path} on Cloud Run ({host or kind}), but Cloud Run reserves "
                  "/eventlog, paths under /_ah/ and paths ending in z: the request never reaches the container and the check "
                  "(and its alert) fails forever", "serve and probe a path that does not end in z, e.g. /health")


# --- alert policies -----------------------------------------------------------------------------
@rule(
    "mon-alert-duration", types=(ALERT,), severity=BLOCKS,
    title="an alert condition's duration is not a whole number of minutes",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/AlertPolicy.yaml",
)
def alert_duration(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for prefix, _kind, body in _conditions(resource):
        value = body.get("duration")
        if value is None or is_unknown(value):
            continue
        duration = seconds(value)
        if duration is None or duration % 60:
            yield Problem(f"{prefix}.duration", f"{resource.name}: duration {value!r} is not a multiple of 60 seconds written like "
                          "'300s'", "use 0s, 60s, 120s, 300s, ...")


@rule(
    "mon-alert-aggregation", types=(ALERT,), severity=BLOCKS,
    title="an alert aggregation's alignment period, aligner and reducer do not fit together",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/AlertPolicy.yaml",
)
def alert_aggregation(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # alignmentPeriod "must be at least 60 seconds"; an aligner other than ALIGN_NONE needs an alignment
    # period; a cross-series reducer needs an aligner (not ALIGN_NONE) and an alignment period.
    for field, aggregation, _filter in _aggregations(resource):
        period_value, aligner, reducer = aggregation.get("alignmentPeriod"), aggregation.get("perSeriesAligner"), aggregation.get("crossSeriesReducer")
        if any(is_unknown(v) for v in (period_value, aligner, reducer)):
            continue
        period = seconds(period_value) if period_value is not None else None
        aligned = text(aligner).upper() not in ("", "ALIGN_NONE")
        reduced = text(reducer).upper() not in ("", "REDUCE_NONE")
        if period_value is not None and (period is None or period < 60):
            yield Problem(f"{field}.alignmentPeriod", f"{resource.name}: alignmentPeriod {period_value!r} is below 60s (or not a "
                          "duration)", "set alignment_period to '60s' or more")
        if aligned and period_value is None:
            yield Problem(f"{field}.alignmentPeriod", f"{resource.name}: perSeriesAligner {aligner} needs an alignmentPeriod",
                          "set alignment_period='60s'")
        if reduced and not aligned:
            yield Problem(f"{field}.perSeriesAligner", f"{resource.name}: crossSeriesReducer {reducer} needs a perSeriesAligner other "
                          "than ALIGN_NONE", "set per_series_aligner (e.g. ALIGN_RATE for counts, ALIGN_DELTA for distributions)")


@rule(
    "mon-aligner-distribution", types=(ALERT,), severity=BLOCKS,
    title="an aligner that cannot apply to a DELTA DISTRIBUTION metric (e.g. ALIGN_RATE on request_latencies)",
    source="https://github.com/google/exposure-notifications-verification-server/issues/659",
)
def aligner_distribution(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, aggregation, filter_ in _aggregations(resource):
        aligner = text(aggregation.get("perSeriesAligner")).upper()
        if aligner not in DISTRIBUTION_REFUSED_ALIGNERS:
            continue
        for metric in _metric_types(filter_):
            if metric in DELTA_DISTRIBUTIONS:
                yield Problem(f"{field}.perSeriesAligner", f"{resource.name}: {aligner} cannot be applied to {metric}, a DELTA "
                              "DISTRIBUTION metric: GCP refuses the policy", "use ALIGN_DELTA with a REDUCE_PERCENTILE_* reducer, or "
                              "an ALIGN_PERCENTILE_* aligner")


@rule(
    "mon-metric-unknown-type", types=(ALERT,), severity=BLOCKS,
    title="a condition names a metric type that does not exist (a misspelled Cloud Run metric)",
    source="https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/pull/3739",
)
def metric_unknown_type(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, filter_ in _filters(resource):
        for metric in _metric_types(filter_):
            if metric in MISSPELLED_METRICS:
                yield Problem(field, f"{resource.name}: metric type {metric} does not exist, so creating the policy fails with "
                              "404 'Cannot find metric(s)'", f"use {MISSPELLED_METRICS[metric]}")


@rule(
    "mon-metric-resource-mismatch", types=(ALERT,), severity=BROKEN,
    title="a condition pairs a metric with a monitored resource type that metric is never written for",
    source="https://cloud.google.com/run/docs/monitoring",
)
def metric_resource_mismatch(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for field, filter_ in _filters(resource):
        resource_types = _RESOURCE_TYPE.findall(filter_)
        for metric in _metric_types(filter_):
            allowed = METRIC_RESOURCES.get(metric.split("/", 1)[0])
            if allowed is None:
                continue
            for kind in resource_types:
                if kind not in allowed:
                    yield Problem(field, f"{resource.name}: {metric} is written for {', '.join(sorted(allowed))}, not for "
                                  f"resource.type {kind}: the condition never sees a time series and never fires",
                                  f"filter on resource.type=\"{sorted(allowed)[0]}\" (or pick a metric of {kind})")


def _vms(inventory: Inventory) -> list[Resource]:
    return inventory.of_type(*VM_TYPES)


def _cos(vm: Resource) -> bool:
    images = [text(vm.get("bootDisk.initializeParams.image"))] + [
        text(d.get("sourceImage")) for d in as_list(vm.get("disks")) if isinstance(d, dict)]
    return any("cos-cloud" in image for image in images if image)


def _ops_agent(vm: Resource) -> bool:
    script = " ".join(text(vm.get(k)) for k in ("metadataStartupScript", "metadata.startup-script", "metadata.user-data"))
    return "google-cloud-ops-agent" in script or "add-google-cloud-ops-agent-repo" in script


@rule(
    "mon-agent-metric-without-agent", types=(ALERT,), severity=BROKEN,
    title="an alert on Ops Agent metrics (agent.googleapis.com) when every VM runs Container-Optimized OS, where the agent cannot run",
    source="https://cloud.google.com/monitoring/api/metrics_opsagent",
)
def agent_metric_without_agent(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    vms = _vms(inventory)
    if not vms or not all(_cos(vm) and not _ops_agent(vm) for vm in vms):
        return
    for field, filter_ in _filters(resource):
        for metric in _metric_types(filter_):
            if metric.startswith("agent.googleapis.com/"):
                yield Problem(field, f"{resource.name} alerts on {metric}, which only the Ops Agent writes, but the program's VMs "
                              f"({', '.join(vm.name for vm in vms)}) run Container-Optimized OS without it: the alert can never fire",
                              "alert on metrics the VMs do produce (Managed Prometheus scraped by a collector container, "
                              "compute.googleapis.com/instance/*), or use an image the Ops Agent supports")


def _descriptor_types(inventory: Inventory) -> dict[str, Resource]:
    return {text(d.get("type")): d for d in inventory.of_type(METRIC_DESCRIPTOR) if text(d.get("type"))}


@rule(
    "mon-written-metric-missing", types=(ALERT,), severity=BLOCKS,
    title="a threshold on a custom/workload/Prometheus metric that a fresh project has never received",
    source="https://github.com/world-federation-of-advertisers/cross-media-measurement/issues/4350",
)
def written_metric_missing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    descriptors = _descriptor_types(inventory)
    for field, filter_ in _filters(resource):
        for metric in _metric_types(filter_):
            if not metric.startswith(WRITTEN_METRIC_PREFIXES):
                continue
            descriptor = descriptors.get(metric)
            if descriptor is not None and inventory.waits_for(resource, descriptor):
                continue
            yield Problem(field, f"{resource.name} filters on {metric}, which exists only once something writes it: on a first "
                          "deploy creating the policy fails with 404 'Cannot find metric(s) that match type'",
                          "declare the metric with gcp.monitoring.MetricDescriptor and depend on it, or alert with a PromQL "
                          "condition (condition_prometheus_query_language), which needs no existing metric")


def _log_metrics(inventory: Inventory) -> dict[str, Resource]:
    return {text(m.get("name")) or m.name: m for m in inventory.of_type(LOG_METRIC)}


@rule(
    "mon-log-metric-missing", types=(ALERT,), severity=BLOCKS,
    title="an alert on a log-based metric the program does not create, or creates without waiting for it",
    source="https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/pull/3739",
)
def log_metric_missing(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    metrics = _log_metrics(inventory)
    for field, filter_ in _filters(resource):
        for metric in _metric_types(filter_):
            if not metric.startswith(LOG_METRIC_PREFIX):
                continue
            name = metric[len(LOG_METRIC_PREFIX):]
            source = metrics.get(name)
            if source is None:
                yield Problem(field, f"{resource.name} filters on {metric}, but the program declares no logging metric '{name}': "
                              "in a fresh project creating the policy fails with 404 'Cannot find metric(s)'",
                              f"declare gcp.logging.Metric(name='{name}', ...) and make {resource.name} depend on it")
            elif not inventory.waits_for(resource, source):
                yield Problem(field, f"{resource.name} filters on {metric} but does not wait for {source.name}, which creates it: "
                              "the engine may create the policy first and GCP refuses it (404)",
                              f"use {source.name}'s name output in the filter, or add depends_on=[{source.name}]")


@rule(
    "mon-log-metric-propagation", types=(ALERT,), severity=RISK,
    title="an alert on a log-based metric created in the same deploy can be refused for up to 10 minutes",
    source="https://github.com/hashicorp/terraform-provider-google/issues/11102",
)
def log_metric_propagation(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # "If a metric was created recently, it could take up to 10 minutes to become available."
    metrics = _log_metrics(inventory)
    for field, filter_ in _filters(resource):
        for metric in _metric_types(filter_):
            source = metrics.get(metric[len(LOG_METRIC_PREFIX):]) if metric.startswith(LOG_METRIC_PREFIX) else None
            if source is not None and inventory.waits_for(resource, source):
                yield Problem(field, f"{resource.name} is created right after {source.name}; Monitoring can answer 404 for a new "
                              "log-based metric for up to 10 minutes", "if the first `pulumi up` fails on this policy, run it again "
                              "after a few minutes")


# --- notification channels and dashboards ---------------------------------------------------------
@rule(
    "mon-channel-labels", types=(CHANNEL,), severity=BLOCKS,
    title="a notification channel lacks the label its type requires, or sets a credential in two places",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/products/monitoring/NotificationChannel.yaml",
)
def channel_labels(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    kind = text(resource.get("type")).lower()
    labels = resource.get("labels")
    if is_unknown(labels):
        return
    labels = labels if isinstance(labels, dict) else {}
    if kind == "email":
        address = labels.get("email_address")
        if address is None:
            yield Problem("labels.email_address", f"{resource.name} is an email channel without labels.email_address",
                          "set labels={'email_address': 'oncall@yourcompany.com'}")
        elif text(address) and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text(address)):
            yield Problem("labels.email_address", f"{resource.name}: email_address is not an email address",
                          "set a full address, e.g. oncall@yourcompany.com")
    sensitive = resource.get("sensitiveLabels")
    if isinstance(sensitive, dict):
        for key, label in (("authToken", "auth_token"), ("password", "password"), ("serviceKey", "service_key")):
            if sensitive.get(key) is not None and label in labels:
                yield Problem(f"sensitiveLabels.{key}", f"{resource.name} sets {label} both in labels and sensitiveLabels; "
                              "credentials may be set in one place only", f"keep {label} in sensitive_labels only")


@rule(
    "mon-channel-placeholder", types=(CHANNEL,), severity=BROKEN,
    title="an email channel sends to a reserved example domain: alerts reach nobody",
    source="https://www.rfc-editor.org/rfc/rfc2606.html",
)
def channel_placeholder(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if text(resource.get("type")).lower() != "email":
        return
    address = text(resource.get("labels.email_address"))
    if "@" in address and _placeholder(address.rsplit("@", 1)[1]):
        yield Problem("labels.email_address", f"{resource.name} notifies an address at a reserved example domain (RFC 2606): "
                      "no alert is ever delivered", "set the on-call address (the stack's alerting.emails)")


@rule(
    "mon-dashboard-json", types=(DASHBOARD,), severity=BLOCKS,
    title="a dashboard's JSON does not parse, is not an object, or has no displayName",
    source="https://github.com/GoogleCloudPlatform/magic-modules/blob/main/mmv1/third_party/terraform/services/monitoring/resource_monitoring_dashboard.go",
)
def dashboard_json(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    # The provider validates StringIsJSON and expands it into an object; the API's Dashboard
    # (https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards) requires displayName.
    value = resource.get("dashboardJson")
    if value is None or is_unknown(value) or not isinstance(value, str):
        return
    try:
        document = json.loads(value)
    except json.JSONDecodeError as exc:
        yield Problem("dashboardJson", f"{resource.name}: dashboardJson is not valid JSON ({exc.msg} at line {exc.lineno})",
                      "build it with json.dumps(...)")
        return
    if not isinstance(document, dict):
        yield Problem("dashboardJson", f"{resource.name}: dashboardJson is not a JSON object", "pass a Dashboard object")
    elif not text(document.get("displayName")):
        yield Problem("dashboardJson", f"{resource.name}: the dashboard has no displayName, which the API requires",
                      "add \"displayName\" to the dashboard JSON")
