"""Artifact Registry, Secret Manager, Cloud Logging and Cloud Monitoring."""

from __future__ import annotations

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, LineItem, SECONDS_PER_MONTH
from stagewise.cost.rules.registry import number, region_of, rule, seconds
from stagewise.cost.traffic import log_gb
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


@rule("gcp:artifactregistry/repository:Repository")
def artifact_repository(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    location = region_of(resource.inputs.get("location"), ctx.region)
    repositories = ctx.of_types(resource.type)

    def build(charges: list[Charge], notes: list[str]) -> None:
        size = ctx.usage.image_gb / len(repositories)
        notes.append(f"{size:g} GiB of images kept (image_gb split over {len(repositories)} repositories)")
        charges.append(ctx.charge("artifact_registry", "storage", location, "image storage", size, "usage"))

    return [ctx.line(resource, location, build)]


@rule("gcp:secretmanager/secret:Secret")
def secret(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    replicas = lookup(resource.inputs, "replication.userManaged.replicas") or []
    locations = max(len(replicas), 1)
    secrets = ctx.of_types(resource.type)

    def build(charges: list[Charge], notes: list[str]) -> None:
        accesses = ctx.usage.secret_accesses / len(secrets)
        notes.append(f"1 active version in {locations} location(s); {accesses:,.0f} accesses (secret_accesses split over {len(secrets)} secrets)")
        charges.append(ctx.charge("secret_manager", "active_version", "global", "active versions", locations, "fixed"))
        charges.append(ctx.charge("secret_manager", "access", "global", "access operations", accesses, "usage"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:logging/metric:Metric")
def log_metric(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"user-defined log-based metric: {ctx.usage.metric_mib:g} MiB of samples a month")
        charges.append(ctx.charge("monitoring", "metric_data", "global", "metric samples", ctx.usage.metric_mib, "usage"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:logging/projectBucketConfig:ProjectBucketConfig")
def log_bucket(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    retention = number(resource.inputs.get("retentionDays"), 30)
    held = log_gb(ctx) * max(retention - 30, 0) / 30

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"retention {retention:g} days: {held:g} GiB held past the included 30 days (all project logs routed here)")
        charges.append(ctx.charge("logging", "retention", "global", "retention beyond 30 days", held, "usage"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:projects/iAMAuditConfig:IAMAuditConfig")
def audit_config(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    """Data Access audit logs are billed as log ingestion (Admin Activity logs are free and always on):
    https://docs.cloud.google.com/logging/docs/audit/configure-data-access, prices in logging.yaml."""
    kinds = sorted({str(c.get("logType")) for c in resource.inputs.get("auditLogConfigs") or [] if isinstance(c, dict)})
    if resource.inputs.get("service") != "allServices" or not kinds:
        return [LineItem(resource.urn, resource.type, resource.name, "free",
                         reason="a single service's audit config: its volume is part of log_gb")]

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{', '.join(kinds)} for allServices: {ctx.usage.audit_log_gb:g} GiB of Data Access audit logs a month (audit_log_gb)")
        charges.append(ctx.charge("logging", "ingestion", "global", "Data Access audit log ingestion", ctx.usage.audit_log_gb, "usage"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:monitoring/alertPolicy:AlertPolicy")
def alert_policy(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    conditions = len(resource.inputs.get("conditions") or [])
    series = conditions * SECONDS_PER_MONTH / 60

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{conditions} condition(s), each returning 1 time series per 60 s evaluation")
        charges.append(ctx.charge("monitoring", "alert_condition", "global", "alert conditions", conditions, "fixed"))
        charges.append(ctx.charge("monitoring", "alert_time_series", "global", "time series returned", series, "fixed"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
def uptime_check(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    period = seconds(resource.inputs.get("period"), 60)
    regions = len(resource.inputs.get("selectedRegions") or []) or 6
    executions = SECONDS_PER_MONTH / period * regions

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"every {period:g} s from {regions} checker regions")
        charges.append(ctx.charge("monitoring", "uptime_check_execution", "global", "executions", executions, "fixed"))

    return [ctx.line(resource, "global", build)]
