"""Observability: alerts that reach someone, logs kept, resources labelled for cost reports."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import Finding, Resource, resource_rule, stack_rule
from .props import DAY_SECONDS, config_int, config_list, flag, get, items, mapping, number, strings, text, walk_strings

USER_METRIC = re.compile(r"logging\.googleapis\.com/user/([A-Za-z0-9_.\-/]+)")
# Resources whose inputs take `labels` (checked against pulumi-gcp in tests/test_policy_tokens.py).
LABELLED_TYPES = (
    t.BUCKET, t.RUN_SERVICE, t.RUN_JOB, t.SECRET, t.REPOSITORY, t.INSTANCE, t.INSTANCE_TEMPLATE,
    t.REGION_INSTANCE_TEMPLATE, t.VERTEX_ENDPOINT,
)


def _alert_is_live(alert: Resource) -> bool:
    return flag(alert.props, "enabled", default=True) is True and bool(strings(get(alert.props, "notificationChannels")))


def _alert_texts(alert: Resource, metric_filters: Mapping[str, str]) -> list[str]:
    """Condition filters and queries of an alert, with user log-metric filters folded in."""
    texts = walk_strings(get(alert.props, "conditions"))
    for value in list(texts):
        for metric in USER_METRIC.findall(value):
            if metric in metric_filters:
                texts.append(metric_filters[metric])
    return texts


def _mentions(texts: list[str], name: str) -> bool:
    pattern = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])")
    return any(pattern.search(value) for value in texts)


def _monitored(resources: list[Resource]) -> Iterator[tuple[Resource, str]]:
    """(resource, the name alert filters refer to it by) for every service and GPU group."""
    from .compute import has_gpu

    templates = {r.urn: r for r in resources if r.type in t.VM_LIKE}
    for resource in resources:
        if resource.type in t.RUN_SERVICES:
            yield resource, text(resource.props, "name") or resource.name
        elif resource.type in t.MIGS:
            used = [templates[d.urn] for d in resource.dependencies if d.urn in templates]
            if any(has_gpu(template) for template in used):
                yield resource, text(resource.props, "baseInstanceName") or text(resource.props, "name") or resource.name


@stack_rule(
    "obs-alert-coverage",
    family="observability",
    description="Every Cloud Run service and GPU instance group is covered by an enabled alert policy with a notification channel.",
    severity=Severity.HIGH,
    remediation="Declare a gcp.monitoring.AlertPolicy whose condition filter names the service (directly or through a log-based metric) and set notification_channels.",
    types=[*t.RUN_SERVICES, *t.MIGS, t.ALERT_POLICY, t.LOG_METRIC],
)
def alert_coverage(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    metric_filters = {
        text(r.props, "name"): text(r.props, "filter") for r in resources if r.type == t.LOG_METRIC and text(r.props, "name")
    }
    alerts = [_alert_texts(r, metric_filters) for r in resources if r.type == t.ALERT_POLICY and _alert_is_live(r)]
    for resource, name in _monitored(resources):
        if not any(_mentions(texts, name) for texts in alerts):
            yield resource, Finding(f"no enabled alert with a notification channel watches {name}",
                                    "add an alert policy on its errors or latency with a notification channel")


@resource_rule(
    "obs-alert-has-channel",
    family="observability",
    description="Alert policies are enabled and notify at least one channel.",
    severity=Severity.MEDIUM,
    remediation="Set notification_channels to a gcp.monitoring.NotificationChannel and keep enabled=True.",
    types=[t.ALERT_POLICY],
)
def alert_has_channel(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "enabled", default=True) is not True:
        yield Finding("the alert policy is disabled", "set enabled=True or delete it")
    if not strings(get(resource.props, "notificationChannels")):
        yield Finding("the alert notifies nobody", "set notification_channels")


def _sink_target(sink: Resource) -> str:
    return text(sink.props, "destination")


def _bucket_retention_days(bucket: Resource) -> float | None:
    seconds = number(bucket.props, "retentionPolicy.retentionPeriod")
    return None if seconds is None else seconds / DAY_SECONDS


@stack_rule(
    "obs-log-sink-retained",
    family="observability",
    description="A project log sink routes logs to a logs bucket (Cloud Storage or Cloud Logging) retained at least minRetentionDays.",
    severity=Severity.MEDIUM,
    remediation="Declare gcp.logging.ProjectSink(destination='storage.googleapis.com/<logs bucket>') to a bucket with a retention policy, or to a ProjectBucketConfig with retention_days.",
    types=[t.PROJECT_SINK, t.BUCKET, t.LOG_BUCKET],
    params={"minRetentionDays": {"type": "integer", "minimum": 1, "default": 30, "description": "minimum retention of the sink's destination"}},
)
def log_sink_retained(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    minimum = config_int(config, "minRetentionDays")
    retained: dict[str, float] = {}
    for resource in resources:
        if resource.type == t.BUCKET:
            days = _bucket_retention_days(resource)
            if days is not None:
                retained[f"storage.googleapis.com/{text(resource.props, 'name') or resource.name}"] = days
        elif resource.type == t.LOG_BUCKET:
            days = number(resource.props, "retentionDays") or 30.0
            project, location, bucket_id = (text(resource.props, key) for key in ("project", "location", "bucketId"))
            retained[f"logging.googleapis.com/projects/{project}/locations/{location}/buckets/{bucket_id}"] = days
    # A disabled sink routes nothing ("disabled - If set to True, then this sink is disabled and it does not
    # export any log entries", pulumi-gcp logging.ProjectSink).
    sinks = [r for r in resources if r.type == t.PROJECT_SINK and flag(r.props, "disabled") is not True]
    if not any(retained.get(_sink_target(sink), 0.0) >= minimum for sink in sinks):
        detail = "no enabled project log sink" if not sinks else "no enabled sink's destination keeps logs long enough"
        yield None, Finding(f"{detail} (need a destination retained {minimum}+ days)",
                            "route logs with a ProjectSink to a retained logs bucket")


@resource_rule(
    "obs-log-bucket-retention",
    family="observability",
    description="Cloud Logging buckets keep logs at least minRetentionDays (and are locked where lockRequired).",
    severity=Severity.MEDIUM,
    remediation="Set retention_days (and locked=True once final) on the ProjectBucketConfig.",
    types=[t.LOG_BUCKET],
    params={
        "minRetentionDays": {"type": "integer", "minimum": 1, "default": 30, "description": "minimum log retention"},
        "lockRequired": {"type": "boolean", "default": False, "description": "the bucket's retention must be locked"},
    },
)
def log_bucket_retention(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    days = number(resource.props, "retentionDays") or 30.0
    minimum = config_int(config, "minRetentionDays")
    if days < minimum:
        yield Finding(f"logs are kept {days:g} days, under {minimum}", f"set retention_days to at least {minimum}")
    if config.get("lockRequired") is True and flag(resource.props, "locked") is not True:
        yield Finding("the log bucket's retention is not locked", "set locked=True")


@resource_rule(
    "obs-sink-unique-writer",
    family="observability",
    description="Log sinks write with their own service identity (unique_writer_identity, the provider default).",
    severity=Severity.LOW,
    remediation="Leave unique_writer_identity unset or True and grant the sink's writer_identity on the destination.",
    types=[t.PROJECT_SINK],
)
def sink_unique_writer(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if flag(resource.props, "uniqueWriterIdentity", default=True) is False:
        yield Finding("the sink writes as the shared cloud-logs identity", "set unique_writer_identity=True")


@resource_rule(
    "obs-required-labels",
    family="observability",
    description="Labelled resources carry the labels cost reports group by (env, owner, cost-center), and env names the stage.",
    severity=Severity.LOW,
    remediation="Set labels with env, owner and cost-center (stacks add config.all_labels to every component).",
    types=LABELLED_TYPES,
    params={
        "requiredLabels": {"type": "array", "items": {"type": "string"}, "default": ["env", "owner", "cost-center"],
                           "description": "label keys every labelled resource needs"},
        "env": {"type": "string", "default": "", "description": "expected value of the env label (empty: any)"},
    },
)
def required_labels(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    labels = mapping(get(resource.props, "labels"))
    missing = [key for key in config_list(config, "requiredLabels") if not labels.get(key)]
    if missing:
        yield Finding(f"labels missing: {', '.join(missing)}", "add them to the resource's labels")
    expected = str(config.get("env") or "")
    if expected and labels.get("env") and labels.get("env") != expected:
        yield Finding(f"env label is {labels.get('env')}, not {expected}", f"set env={expected}")



AUDIT_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
ALL_SERVICES = "allServices"


@resource_rule(
    "obs-audit-log-config",
    family="observability",
    description="Data Access audit log configs exempt nobody, and an allServices config turns on every log type "
                "(ADMIN_READ, DATA_READ, DATA_WRITE), as CIS 2.1 asks.",
    severity=Severity.HIGH,
    remediation="Remove exempted_members; for service allServices list audit_log_configs of ADMIN_READ, DATA_READ and DATA_WRITE.",
    types=t.AUDIT_CONFIGS,
    applies_to="project, folder and organization IAM audit configs",
    unknowns="fail-closed",
)
def audit_log_config(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    # CIS GCP 2.1: "Cloud Audit Logging is configured to track all admin activities and read, write access
    # to user data", with no exempted users (steampipe-mod-gcp-compliance cis_v300/section_2.sp).
    logged: set[str] = set()
    for entry in items(get(resource.props, "auditLogConfigs")):
        kind = text(entry, "logType")
        logged.add(kind)
        if strings(get(entry, "exemptedMembers")):
            yield Finding(f"{kind} audit logs exempt some members, so their access leaves no trace",
                          "remove exempted_members")
    if text(resource.props, "service") == ALL_SERVICES:
        missing = [kind for kind in AUDIT_LOG_TYPES if kind not in logged]
        if missing:
            yield Finding(f"the allServices audit config leaves out {', '.join(missing)}", "add an audit_log_config for each")


@stack_rule(
    "obs-audit-logs-all-services",
    family="observability",
    description="The stack turns on Data Access audit logs for allServices (CIS 2.1); one stack per project needs to.",
    severity=Severity.MEDIUM,
    remediation="Declare gcp.projects.IAMAuditConfig(service='allServices', audit_log_configs=[ADMIN_READ, DATA_READ, DATA_WRITE]) "
                "in the stack that owns the project.",
    types=t.AUDIT_CONFIGS,
)
def audit_logs_all_services(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    if not any(r.type in t.AUDIT_CONFIGS and text(r.props, "service") == ALL_SERVICES for r in resources):
        yield None, Finding("no audit config turns on Data Access logs for allServices", "declare an allServices IAMAuditConfig")
