"""Price rules: one function per resource type, pricing a resource from its own inputs.

A rule never looks at a resource's name; it reads the settings that drive the bill (machine type,
GPU count, min instances, storage class, location…) and multiplies usage from the profile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import HOURS_PER_MONTH, SECONDS_PER_MONTH, Charge, Kind, LineItem
from stagewise.cost.partner_ranges import source_range_lines
from stagewise.cost.models import lifecycle_note, model_key
from stagewise.cost.prices import NoPrice
from stagewise.cost.traffic import Uptime, gpu_count, log_gb, nat_gb, request_serving_services, scale_to_zero_uptime, service_requests, total_requests
from stagewise.engine.record import DeclaredResource
from stagewise.review.summary import lookup

Rule = Callable[[DeclaredResource, Context], list[LineItem]]
RULES: dict[str, Rule] = {}

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
FIRESTORE_DB = "gcp:firestore/database:Database"
INSTANCE = "gcp:compute/instance:Instance"
MIGS = ("gcp:compute/instanceGroupManager:InstanceGroupManager", "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")
TEMPLATES = ("gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
AUTOSCALERS = ("gcp:compute/autoscaler:Autoscaler", "gcp:compute/regionAutoscaler:RegionAutoscaler")
VERTEX_DEPLOYMENT = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"
MULTI_REGIONS = {"us", "eu", "asia", "nam4", "eur4", "asia1", "eur5", "eur7", "eur8"}


def rule(*tokens: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for token in tokens:
            RULES[token] = fn
        return fn

    return register


# ---------------------------------------------------------------- input helpers


def basename(value: Any) -> str:
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


def region_of(value: Any, default: str) -> str:
    """A region from a location or zone (us-central1-a → us-central1); multi-regions upper-case."""
    text = basename(value)
    if not text:
        return default
    if text.lower() in MULTI_REGIONS:
        return text.upper()
    if re.match(r"^[a-z]+-[a-z]+\d+-[a-z]$", text):
        return text.rsplit("-", 1)[0]
    return text.lower() if re.match(r"^[a-zA-Z]+-[a-zA-Z]+\d+$", text) else text


def cpu_count(value: Any) -> float:
    text = str(value or "1")
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def memory_gib(value: Any) -> float:
    text = str(value or "512Mi")
    match = re.match(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$", text)
    if not match:
        raise ValueError(f"memory {text!r} not understood")
    number, suffix = float(match.group(1)), match.group(2) or ""
    factor = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 1024, "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}
    return number * factor[suffix] if suffix else number / 2**30


def seconds(value: Any, default: float) -> float:
    text = str(value or "")
    match = re.match(r"^(\d+(?:\.\d+)?)s$", text)
    return float(match.group(1)) if match else default


def number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- Cloud Run


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value")) for e in container.get("envs") or [] if "value" in e}


_gpu_count = gpu_count


def self_hosted_requests(ctx: Context) -> float:
    """Requests a month the self-hosted model server answers: each service's share from its chain."""
    total = 0.0
    for service in request_serving_services(ctx):
        env = _env(lookup(service.inputs, "template.containers[0]") or {})
        share = sum(fraction for model, fraction, _ in chain_shares(env, ctx) if model is None)
        total += service_requests(service, ctx) * share
    return total


def gpu_service_uptime(resource: DeclaredResource, ctx: Context, minimum: int) -> Uptime:
    inputs = resource.inputs
    if ctx.usage.gpu_service_hours is not None:
        seconds = max(minimum * SECONDS_PER_MONTH, ctx.usage.gpu_service_hours * 3600)
        return Uptime(seconds, f"gpu_service_hours={ctx.usage.gpu_service_hours:g} from the usage profile (or min instances all month)")
    gpu_services = [s for s in ctx.of_types(RUN_SERVICE) if _gpu_count(s.inputs)]
    requests = self_hosted_requests(ctx) / max(len(gpu_services), 1)
    concurrency = number(lookup(inputs, "template.maxInstanceRequestConcurrency"), 80)
    high = lookup(inputs, "template.scaling.maxInstanceCount")
    return scale_to_zero_uptime(ctx, requests, ctx.usage.model_seconds_per_request, concurrency, minimum,
                                int(number(high, 0)) or None)


def _min_instances(inputs: dict[str, Any]) -> int:
    template_min = lookup(inputs, "template.scaling.minInstanceCount")
    service_min = lookup(inputs, "scaling.minInstanceCount")
    manual = lookup(inputs, "scaling.manualInstanceCount") if lookup(inputs, "scaling.scalingMode") == "MANUAL" else None
    return int(max(number(template_min, 0), number(service_min, 0), number(manual, 0)))


@rule(RUN_SERVICE)
def cloud_run_service(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    region = region_of(inputs.get("location"), ctx.region)
    container = lookup(inputs, "template.containers[0]") or {}
    limits = (container.get("resources") or {}).get("limits") or {}
    cpu, mem = cpu_count(limits.get("cpu")), memory_gib(limits.get("memory"))
    gpus = _gpu_count(inputs)
    cpu_idle = (container.get("resources") or {}).get("cpuIdle", True) is not False
    minimum = _min_instances(inputs)
    requests = service_requests(resource, ctx)
    share = requests / ctx.usage.requests_per_month if ctx.usage.requests_per_month else 0.0
    active = requests * ctx.usage.backend_seconds_per_request

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{cpu:g} vCPU, {mem:g} GiB per instance; min instances {minimum}")
        if gpus or not cpu_idle:
            uptime = gpu_service_uptime(resource, ctx, minimum) if gpus else Uptime(max(minimum * SECONDS_PER_MONTH, active), "")
            instance_s = uptime.instance_seconds
            notes.append(
                "instance-based billing (" + ("GPU services require it" if gpus else "cpu_idle=false")
                + f"): {instance_s / 3600:,.1f} instance-hours" + (f" ({uptime.why})" if uptime.why else "")
            )
            charges.append(ctx.charge("cloud_run", "cpu_instance", region, "CPU (instance-based)", instance_s * cpu, "fixed" if minimum else "usage"))
            charges.append(ctx.charge("cloud_run", "memory_instance", region, "memory (instance-based)", instance_s * mem, "fixed" if minimum else "usage"))
            if gpus:
                redundancy_off = bool(inputs.get("template", {}).get("gpuZonalRedundancyDisabled"))
                accelerator = str(lookup(inputs, "template.nodeSelector.accelerator") or "nvidia-l4")
                if accelerator != "nvidia-l4":
                    raise NoPrice(f"cloud_run GPU {accelerator!r} (only nvidia-l4 is in cloud_run.yaml)")
                price_id = "gpu_l4_no_zonal_redundancy" if redundancy_off else "gpu_l4"
                charges.append(ctx.charge("cloud_run", price_id, region, f"{gpus} × NVIDIA L4 GPU", instance_s * gpus, "fixed" if minimum else "usage", free=False))
        else:
            notes.append(
                f"request-based billing: {requests:,.0f} requests ({share:.0%} of requests_per_month; requests_by_service) × "
                f"{ctx.usage.backend_seconds_per_request:g} s = {active:,.0f} instance-seconds"
            )
            charges.append(ctx.charge("cloud_run", "cpu_request", region, "CPU while serving", active * cpu, "usage"))
            charges.append(ctx.charge("cloud_run", "memory_request", region, "memory while serving", active * mem, "usage"))
            charges.append(ctx.charge("cloud_run", "requests", region, "requests", requests, "usage"))
            if minimum:
                idle = max(minimum * SECONDS_PER_MONTH - active, 0.0)
                notes.append(f"{minimum} warm instance(s) idle {idle / 3600:,.0f} h a month at the idle rate")
                charges.append(ctx.charge("cloud_run", "cpu_idle_min", region, "idle min-instance CPU", idle * cpu, "fixed", free=False))
                charges.append(ctx.charge("cloud_run", "memory_idle_min", region, "idle min-instance memory", idle * mem, "fixed", free=False))

    lines = [ctx.line(resource, region, build)]
    lines += model_token_lines(resource, ctx, container, requests)
    lines += source_range_lines(resource, ctx, container, requests)
    return lines


_model_key = model_key


def self_hosted_availability(ctx: Context) -> tuple[float, str]:
    """Share of the month a self-hosted model server can answer (arrivals assumed even over the month).

    A GPU Cloud Run service or a Vertex endpoint answers whenever called (scale-to-zero starts an
    instance); a VM or instance group answers only while an instance runs: its average instances,
    capped at 1. `self_hosted_availability` in the usage profile replaces the derived figure.
    """
    if ctx.usage.self_hosted_availability is not None:
        return ctx.usage.self_hosted_availability, "self_hosted_availability from the usage profile"
    if any(_gpu_count(s.inputs) for s in ctx.of_types(RUN_SERVICE)) or ctx.of_types(VERTEX_DEPLOYMENT):
        return 1.0, "the model server starts on demand"
    fleet = vm_fleet(ctx)
    if not fleet:
        return 1.0, "no self-hosted server declared here"
    share = min(max(count for _, count, _ in fleet), 1.0)
    return share, f"the model server runs {share * HOURS_PER_MONTH:,.0f} of {HOURS_PER_MONTH:g} h a month"


def chain_shares(env: dict[str, str], ctx: Context) -> list[tuple[str | None, float, str]]:
    """(Gemini model or None for the self-hosted server, share of calls it answers, why), in chain order.

    The app tries CHAT_OPENAI_MODEL (self-hosted) first, then CHAT_VERTEX_MODEL, then
    CHAT_FALLBACK_MODEL (app/configs/*.yaml; a repeated model is dropped). Each entry answers the
    calls that reach it while it is available, less `fallback_share` that fail over to the next;
    the last entry answers everything that reaches it.
    """
    entries: list[tuple[str | None, float, str]] = []
    if env.get("CHAT_OPENAI_MODEL"):
        availability, why = self_hosted_availability(ctx)
        entries.append((None, availability, f"CHAT_OPENAI_MODEL (self-hosted; {why})"))
    seen: set[str] = set()
    for var, role in (("CHAT_VERTEX_MODEL", "primary Gemini"), ("CHAT_FALLBACK_MODEL", "fallback Gemini")):
        model = env.get(var)
        if model and _model_key(model) not in seen:
            seen.add(_model_key(model))
            entries.append((model, 1.0, f"{var} ({role})"))
    shares: list[tuple[str | None, float, str]] = []
    reaching = 1.0
    for index, (model, availability, why) in enumerate(entries):
        last = index == len(entries) - 1
        answered = reaching if last else reaching * availability * (1 - ctx.usage.fallback_share)
        shares.append((model, answered, why))
        reaching -= answered
    return shares


def model_token_lines(resource: DeclaredResource, ctx: Context, container: dict[str, Any], requests: float) -> list[LineItem]:
    """Gemini tokens the service's requests spend, following the model chain its environment names."""
    env = _env(container)
    if not requests:
        return []
    usage = ctx.usage
    models = [(model, share, why) for model, share, why in chain_shares(env, ctx) if model is not None]
    lines = []
    for model, fraction, source in models:
        key = _model_key(model)
        calls = requests * fraction

        def build(charges: list[Charge], notes: list[str], key: str = key, calls: float = calls, fraction: float = fraction, source: str = source) -> None:
            warning = lifecycle_note(key, book=ctx.book)
            if warning:
                notes.append(f"WARNING: {warning}")
            notes.append(
                f"{calls:,.0f} calls ({fraction:.1%} of this service's requests) to {source} × "
                f"{usage.input_tokens_per_request:g} input / {usage.output_tokens_per_request:g} output tokens"
            )
            charges.append(ctx.charge("vertex_ai", f"tokens_in.{key}", "global", "input tokens", calls * usage.input_tokens_per_request, "usage"))
            charges.append(ctx.charge("vertex_ai", f"tokens_out.{key}", "global", "output tokens", calls * usage.output_tokens_per_request, "usage"))

        lines.append(ctx.line(resource, "global", build, name=f"{resource.name} → {key}", type_token="vertex:gemini:Tokens"))
    return lines


# ---------------------------------------------------------------- Firestore


@rule(FIRESTORE_DB)
def firestore_database(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    location = region_of(inputs.get("locationId"), ctx.region)
    location = location.lower() if location.lower() in ("nam5", "eur3") else location
    default_db = inputs.get("name", "(default)") == "(default)"
    databases = ctx.of_types(FIRESTORE_DB)
    share = 1 / len(databases)
    requests = total_requests(ctx) * share
    u = ctx.usage
    pitr = inputs.get("pointInTimeRecoveryEnablement") == "POINT_IN_TIME_RECOVERY_ENABLED"

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(
            f"{requests:,.0f} requests × {u.firestore_reads_per_request:g} reads / {u.firestore_writes_per_request:g} writes / "
            f"{u.firestore_deletes_per_request:g} TTL deletes; {u.firestore_gb:g} GiB stored"
        )
        notes.append("free daily quota applies (the (default) database)" if default_db else "named database: no free quota")
        charges.append(ctx.charge("firestore", "reads", location, "document reads", requests * u.firestore_reads_per_request, "usage", free=default_db))
        charges.append(ctx.charge("firestore", "writes", location, "document writes", requests * u.firestore_writes_per_request, "usage", free=default_db))
        # TTL deletes get no free quota (Firestore pricing page).
        charges.append(ctx.charge("firestore", "deletes", location, "TTL deletes", requests * u.firestore_deletes_per_request, "usage", free=False))
        charges.append(ctx.charge("firestore", "storage", location, "stored data", u.firestore_gb * share, "usage", free=default_db))
        if pitr:
            notes.append("point-in-time recovery on: PITR data as large as the stored data")
            charges.append(ctx.charge("firestore", "pitr_storage", location, "PITR data", u.firestore_gb * share, "usage", free=False))

    return [ctx.line(resource, location, build)]


@rule("gcp:firestore/backupSchedule:BackupSchedule")
def firestore_backups(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    databases = ctx.linked(resource, FIRESTORE_DB) or ctx.of_types(FIRESTORE_DB)
    location = region_of(databases[0].inputs.get("locationId"), ctx.region) if databases else ctx.region
    location = location.lower() if location.lower() in ("nam5", "eur3") else location
    retention_days = seconds(inputs.get("retention"), 7 * 86400) / 86400
    weekly = bool(inputs.get("weeklyRecurrence"))
    kept = max(retention_days / (7 if weekly else 1), 1)
    share = 1 / max(len(ctx.of_types(FIRESTORE_DB)), 1)

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{'weekly' if weekly else 'daily'} backups kept {retention_days:g} days → {kept:g} backups of {ctx.usage.firestore_gb * share:g} GiB")
        charges.append(ctx.charge("firestore", "backup_storage", location, "backup data", kept * ctx.usage.firestore_gb * share, "usage", free=False))

    return [ctx.line(resource, location, build)]


# ---------------------------------------------------------------- Cloud Storage


def _delete_after_days(inputs: dict[str, Any]) -> float | None:
    ages = [number(lookup(r, "condition.age"), 0) for r in inputs.get("lifecycleRules") or []
            if str(lookup(r, "action.type") or "") == "Delete" and lookup(r, "condition.age")]
    return min(ages) if ages else None


@rule("gcp:storage/bucket:Bucket")
def storage_bucket(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    location = region_of(inputs.get("location"), ctx.region)
    storage_class = str(inputs.get("storageClass") or "STANDARD").lower()
    if storage_class in ("regional", "multi_regional"):
        storage_class = "standard"
    bucket_class = str((inputs.get("labels") or {}).get("bucket-class") or "other")
    sizes = ctx.usage.bucket_gb
    size = sizes.get(bucket_class, sizes.get("other", 0.0))
    u = ctx.usage
    exports = [j for j in ctx.of_types("gcp:cloudscheduler/job:Job") if is_firestore_export(j)]
    growth = ""
    if bucket_class == "backups" and exports:
        kept_days = _delete_after_days(inputs)
        days = min(u.months_in_operation * 365 / 12, kept_days if kept_days is not None else math.inf)
        per_export = u.firestore_gb * u.export_share_of_firestore_gb
        size = per_export * export_days_per_month(exports[0]) * days / (365 / 12)
        growth = (f"{per_export:g} GiB per export × {export_days_per_month(exports[0]):.1f} a month, kept "
                  + (f"{kept_days:g} days" if kept_days is not None else "with no delete rule")
                  + f": {size:,.1f} GiB in month {u.months_in_operation:g}")

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(growth or f"{size:g} GiB stored ({bucket_class!r} bucket class from its label), {storage_class} class")
        if (inputs.get("softDeletePolicy") or {}).get("retentionDurationSeconds", 0):
            notes.append("few deletions: soft-deleted objects (billed while retained) not included")
        charges.append(ctx.charge("cloud_storage", storage_class, location, f"{storage_class} storage", size, "usage"))
        charges.append(ctx.charge("cloud_storage", "class_a", location, "class A operations", u.bucket_class_a_ops, "usage"))
        charges.append(ctx.charge("cloud_storage", "class_b", location, "class B operations", u.bucket_class_b_ops, "usage"))

    return [ctx.line(resource, location, build)]


# ---------------------------------------------------------------- registry, secrets, logging, monitoring


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


@rule("gcp:compute/subnetwork:Subnetwork")
def subnetwork(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    if not resource.inputs.get("logConfig"):
        return [LineItem(resource.urn, resource.type, resource.name, "free", reason="a subnet without flow logs has no charge")]
    sampling = number((resource.inputs.get("logConfig") or {}).get("flowSampling"), 0.5)

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"flow logs on (sampling {sampling:g}): {ctx.usage.flow_log_gb:g} GiB a month (flow_log_gb)")
        charges.append(ctx.charge("logging", "vended_network_logs", "global", "VPC flow logs", ctx.usage.flow_log_gb, "usage"))

    return [ctx.line(resource, region_of(resource.inputs.get("region"), ctx.region), build)]


def is_firestore_export(job: DeclaredResource) -> bool:
    return ":exportDocuments" in str(lookup(job.inputs, "httpTarget.uri") or "")


def export_days_per_month(job: DeclaredResource) -> float:
    days = cron_days_per_month(str(job.inputs.get("schedule") or ""))
    return days if days is not None else 365 / 12


def firestore_documents(ctx: Context) -> float:
    return ctx.usage.firestore_gb * 2**20 / ctx.usage.firestore_document_kib


@rule("gcp:cloudscheduler/job:Job")
def scheduler_job(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    export = is_firestore_export(resource)
    databases = ctx.of_types(FIRESTORE_DB)
    location = region_of(databases[0].inputs.get("locationId"), ctx.region) if databases else ctx.region
    location = location.lower() if location.lower() in ("nam5", "eur3") else location

    def build(charges: list[Charge], notes: list[str]) -> None:
        charges.append(ctx.charge("scheduler", "job", "global", "scheduler job", 1, "fixed"))
        if not export:
            notes.append(f"schedule {resource.inputs.get('schedule')!r}; the work it triggers is billed by its target")
            return
        # An export reads every document: https://cloud.google.com/firestore/pricing (export and
        # import operations are charged as document reads), searched 2026-12-01.
        docs = firestore_documents(ctx)
        days = export_days_per_month(resource)
        notes.append(f"a Firestore export {days:.1f} times a month ({resource.inputs.get('schedule')!r}), each reading all "
                     f"{docs:,.0f} documents ({ctx.usage.firestore_gb:g} GiB / {ctx.usage.firestore_document_kib:g} KiB each)")
        # Counted without the free daily quota (the app's own reads use it up first in a busy stage).
        charges.append(ctx.charge("firestore", "reads", location, "export document reads", docs * days, "usage", free=False))

    return [ctx.line(resource, region_of(resource.inputs.get("region"), ctx.region), build)]


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


# ---------------------------------------------------------------- load balancer, Cloud Armor, NAT, IPs


FORWARDING_RULES = ("gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule")


def _rule_scope(resource: DeclaredResource, ctx: Context) -> str:
    return "global" if resource.type.endswith("GlobalForwardingRule") else region_of(resource.inputs.get("region"), ctx.region)


@rule(*FORWARDING_RULES)
def forwarding_rule(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    """The first 5 rules of a scope cost one flat $0.025/h together; each rule past 5 adds $0.01/h.

    https://cloud.google.com/load-balancing/pricing ("First 5 forwarding rules $0.025 Per Hour";
    "Per additional forwarding rule $0.01 Per Hour", in a stored copy of Google's page found
    2026-12-01 at https://blue-sea-697d.quartiers047.workers.dev:443/https/cloud.google.com/load-balancing/pricing). Global rules and each
    region's rules are counted separately. The minimum lands on the scope's first rule (by URN);
    rules 2–5 are covered by it.
    """
    scope = _rule_scope(resource, ctx)
    peers = sorted((r for r in ctx.of_types(*FORWARDING_RULES) if _rule_scope(r, ctx) == scope), key=lambda r: r.urn)
    nth = peers.index(resource) + 1 if resource in peers else 1
    if 1 < nth <= 5:
        return [LineItem(resource.urn, resource.type, resource.name, "free",
                         reason=f"covered by the flat charge for the first 5 forwarding rules ({scope}), billed on {peers[0].name}")]

    def build(charges: list[Charge], notes: list[str]) -> None:
        if nth == 1:
            notes.append(f"flat charge for the first 5 forwarding rules of the project ({scope}): {min(len(peers), 5)} declared")
            charges.append(ctx.charge("load_balancing", "forwarding_rule_first5", "global", "first 5 forwarding rules (flat)", HOURS_PER_MONTH, "fixed"))
        else:
            notes.append(f"forwarding rule #{nth} of the project ({scope}), past the first 5, up all month")
            charges.append(ctx.charge("load_balancing", "forwarding_rule_additional", "global", "forwarding rule hours", HOURS_PER_MONTH, "fixed"))

    return [ctx.line(resource, "global", build)]


URL_MAPS = ("gcp:compute/uRLMap:URLMap", "gcp:compute/regionUrlMap:RegionUrlMap")


def _redirect_only(url_map: DeclaredResource) -> bool:
    inputs = url_map.inputs
    return bool(inputs.get("defaultUrlRedirect")) and not inputs.get("defaultService") and not inputs.get("pathMatchers")


@rule(*URL_MAPS)
def url_map(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    if _redirect_only(resource):
        return [LineItem(resource.urn, resource.type, resource.name, "free",
                         reason="redirect-only URL map (HTTP→HTTPS): its few bytes are not counted; traffic is billed on the serving URL map")]
    maps = [m for m in ctx.of_types(*URL_MAPS) if not _redirect_only(m)]
    region = region_of(resource.inputs.get("region"), ctx.region)

    def build(charges: list[Charge], notes: list[str]) -> None:
        inbound, outbound = ctx.usage.ingress_gb / len(maps), ctx.usage.egress_gb / len(maps)
        notes.append(f"user traffic through the load balancer: {inbound:g} GiB in, {outbound:g} GiB out, processed in {region}")
        charges.append(ctx.charge("load_balancing", "inbound_data", region, "inbound data processed", inbound, "usage"))
        charges.append(ctx.charge("load_balancing", "outbound_data", region, "outbound data processed", outbound, "usage"))

    return [ctx.line(resource, region, build)]


@rule("gcp:compute/securityPolicy:SecurityPolicy")
def security_policy(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    rules = len(resource.inputs.get("rules") or [])

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{rules} inline rule(s); every request evaluated ({total_requests(ctx):,.0f} a month)")
        charges.append(ctx.charge("cloud_armor", "policy", "global", "policy", 1, "fixed"))
        charges.append(ctx.charge("cloud_armor", "rule", "global", "rules", rules, "fixed"))
        charges.append(ctx.charge("cloud_armor", "requests", "global", "requests evaluated", total_requests(ctx), "usage"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:compute/securityPolicyRule:SecurityPolicyRule")
def security_policy_rule(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    def build(charges: list[Charge], notes: list[str]) -> None:
        charges.append(ctx.charge("cloud_armor", "rule", "global", "rule", 1, "fixed"))

    return [ctx.line(resource, "global", build)]


@rule("gcp:compute/routerNat:RouterNat")
def router_nat(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    region = region_of(inputs.get("region"), ctx.region)
    vms = sum(count for r, count, _ in vm_fleet(ctx) if vm_region(r, ctx) == region)
    manual_ips = len(inputs.get("natIps") or [])
    # AUTO_ONLY allocates addresses as endpoints need them: at least one while anything egresses.
    ips = manual_ips if inputs.get("natIpAllocateOption") == "MANUAL_ONLY" else max(1, math.ceil(vms / 32))
    # nat_gb is what leaves the project through NAT: each gateway processes the part that passes
    # through it, so the volume is split over the gateways, never billed in full on each.
    # https://cloud.google.com/nat/pricing (data processed by the gateway), searched 2026-12-01.
    nats = max(len(ctx.of_types(resource.type)), 1)

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{vms:.2f} VMs on average in {region} use the gateway (Cloud Run direct VPC egress adds no VM-hours here); "
                     f"{nat_gb(ctx) / nats:g} GiB processed (nat_gb + nat_kib_per_request, split over {nats} gateway(s)); {ips} external IP(s)")
        if vms > 32:
            charges.append(ctx.charge("cloud_nat", "gateway_hour_cap", region, "gateway hours (over 32 VMs)", HOURS_PER_MONTH, "fixed"))
        else:
            charges.append(ctx.charge("cloud_nat", "vm_hour", region, "VM-hours on the gateway", vms * HOURS_PER_MONTH, "fixed"))
        charges.append(ctx.charge("cloud_nat", "data", region, "data processed", nat_gb(ctx) / nats, "usage"))
        if ips:
            charges.append(ctx.charge("cloud_nat", "ip_hour", region, "NAT IP hours", ips * HOURS_PER_MONTH, "fixed"))

    return [ctx.line(resource, region, build)]


@rule("gcp:compute/address:Address", "gcp:compute/globalAddress:GlobalAddress")
def address(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    if str(resource.inputs.get("addressType") or "EXTERNAL") != "EXTERNAL":
        return [LineItem(resource.urn, resource.type, resource.name, "free", reason="internal addresses have no charge")]
    rules = ctx.dependents(resource, *FORWARDING_RULES)
    if rules:
        # An external address in use by a forwarding rule is not billed as an IP: the rule's hours are
        # (https://cloud.google.com/vpc/network-pricing, IP address table, as issue #17's review read it;
        # no stored copy searched 2026-12-01 reaches that table, so this rests on that review).
        return [LineItem(resource.urn, resource.type, resource.name, "free",
                         reason="an external address in use by a forwarding rule has no charge (billed as the rule)")]
    region = region_of(resource.inputs.get("region"), "global")

    in_use = bool(ctx.dependents(resource, INSTANCE, *TEMPLATES))

    def build(charges: list[Charge], notes: list[str]) -> None:
        if in_use:
            notes.append("a reserved external address in use by a VM all month")
            charges.append(ctx.charge("network", "static_ip_in_use", region, "IP hours", HOURS_PER_MONTH, "fixed"))
        else:
            notes.append("a reserved external address that nothing in this program uses: billed as unused")
            charges.append(ctx.charge("network", "static_ip_unused", region, "IP hours", HOURS_PER_MONTH, "fixed"))

    return [ctx.line(resource, region, build)]


# ---------------------------------------------------------------- Compute Engine


def _machine_settings(inputs: dict[str, Any]) -> tuple[str, bool, list[tuple[str, int]], list[tuple[str, float]]]:
    """Machine type, spot, accelerators, disks (type, GiB) from an instance or template's inputs."""
    machine = basename(inputs.get("machineType"))
    scheduling = inputs.get("scheduling") or {}
    spot = scheduling.get("provisioningModel") == "SPOT" or bool(scheduling.get("preemptible"))
    accelerators = [(basename(a.get("type")), int(number(a.get("count"), 1))) for a in inputs.get("guestAccelerators") or []]
    disks: list[tuple[str, float]] = []
    boot = inputs.get("bootDisk")
    if boot:
        params = boot.get("initializeParams") or {}
        disks.append((basename(params.get("type")) or "pd-standard", number(params.get("size"), 10)))
    for disk in inputs.get("disks") or []:
        disks.append((basename(disk.get("diskType")) or "pd-standard", number(disk.get("diskSizeGb"), 10)))
    return machine, spot, accelerators, disks


def _compute_charges(ctx: Context, region: str, settings: tuple[str, bool, list[tuple[str, int]], list[tuple[str, float]]],
                     count: float, hours: float, charges: list[Charge], notes: list[str]) -> None:
    machine, spot, accelerators, disks = settings
    if not machine:
        raise NoPrice("compute machine type not set (machineType is empty or computed)")
    kind: Kind = "fixed"
    machine_id = f"{'spot' if spot else 'machine'}.{machine}"
    notes.append(f"{count:g} × {machine}{' (Spot)' if spot else ''} for {hours:,.0f} instance-hours a month")
    charges.append(ctx.charge("compute", machine_id, region, f"{machine}{' spot' if spot else ''} hours", count * hours, kind))
    # A G2 machine comes with its L4s; a template may also list them as guest accelerators: count once.
    bundled = ctx.book.file("compute").bundled_accelerators.get(machine, {})
    gpus: dict[str, int] = dict(bundled)
    for gpu, declared in accelerators:
        gpus[gpu] = max(gpus[gpu], declared) if gpu in bundled else gpus.get(gpu, 0) + declared
    for gpu, per in gpus.items():
        gpu_id = f"{'gpu_spot' if spot else 'gpu'}.{gpu}"
        charges.append(ctx.charge("compute", gpu_id, region, f"{per} × {gpu} GPU hours", count * per * hours, kind))
    for disk_type, size in disks:
        # Disks of group instances exist while the instances do: GiB-months prorated by the hours.
        charges.append(ctx.charge("compute", f"disk.{disk_type}", region, f"{size:g} GiB {disk_type}", count * size * hours / HOURS_PER_MONTH, kind))


def vm_region(resource: DeclaredResource, ctx: Context) -> str:
    inputs = resource.inputs
    return region_of(inputs.get("region") or inputs.get("zone"), ctx.region)


def _template_of(group: DeclaredResource, ctx: Context) -> DeclaredResource | None:
    templates = ctx.linked(group, *TEMPLATES)
    return templates[0] if templates else None


_WEEKDAYS = {name: index for index, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def _weekday(text: str) -> int:
    text = text.upper()
    if text in _WEEKDAYS:
        return _WEEKDAYS[text]
    if text.isdigit() and int(text) <= 7:
        return int(text) % 7  # cron allows 7 for Sunday
    raise ValueError(text)


def cron_days_per_month(cron: str) -> float | None:
    """Days a month a cron schedule fires (minute hour day-of-month month day-of-week); None if unknown.

    Day-of-week may be *, numbers (0-7) or names (MON-FRI), in lists and ranges; day-of-month and
    month must be *.
    """
    parts = cron.split()
    if len(parts) != 5 or parts[2] != "*" or parts[3] != "*":
        return None
    days: set[int] = set()
    try:
        for item in parts[4].split(","):
            if item == "*":
                days.update(range(7))
            elif "-" in item:
                low, high = (_weekday(x) for x in item.split("-", 1))
                days.update(range(low, (high or 7) + 1) if high >= low or high == 0 else [])
                days = {d % 7 for d in days}
            else:
                days.add(_weekday(item))
    except ValueError:
        return None
    return len(days) * 365 / 12 / 7


def group_hours(group: DeclaredResource, ctx: Context, with_load: bool = True) -> tuple[float, str]:
    """Instance-hours a month of a managed instance group, from its autoscaler or target size."""
    hours = min(ctx.usage.vm_hours, HOURS_PER_MONTH)
    autoscalers = ctx.dependents(group, *AUTOSCALERS)
    if not autoscalers:
        size = int(number(group.inputs.get("targetSize"), 0))
        return size * hours, f"target size {size} × {hours:g} h"
    policy = autoscalers[0].inputs.get("autoscalingPolicy") or {}
    low = int(number(policy.get("minReplicas"), 1))
    high = int(number(policy.get("maxReplicas"), low))
    total, why = low * hours, f"autoscaler minimum {low} × {hours:g} h"
    for schedule in policy.get("scalingSchedules") or []:
        extra = max(int(number(schedule.get("minRequiredReplicas"), 0)) - low, 0)
        days = cron_days_per_month(str(schedule.get("schedule") or ""))
        duration = number(schedule.get("durationSec"), 0) / 3600
        if days is None:
            raise NoPrice(f"scaling schedule {schedule.get('schedule')!r}: only day-of-week cron schedules are understood")
        total += extra * days * duration
        why += f" + schedule {schedule.get('schedule')!r}: {extra} more × {duration:g} h × {days:.1f} days"
    if not with_load:
        return total, why
    # Load beyond the scheduled floor: the self-hosted calls × hold time, spread over the groups.
    load = self_hosted_requests(ctx) * ctx.usage.model_seconds_per_request / 3600 / max(len(ctx.of_types(*MIGS)), 1)
    if load > total:
        return min(load, high * HOURS_PER_MONTH), why + f"; the load needs {load:,.1f} instance-hours (max {high})"
    return total, why + f" (max {high}; the load needs {load:,.1f} instance-hours, within it)"


def vm_fleet(ctx: Context) -> list[tuple[DeclaredResource, float, str]]:
    """Every VM-producing resource with its average number of running instances."""
    fleet: list[tuple[DeclaredResource, float, str]] = [(r, 1.0, "a single instance") for r in ctx.of_types(INSTANCE)]
    for group in ctx.of_types(*MIGS):
        try:
            hours, why = group_hours(group, ctx, with_load=False)
        except NoPrice:
            continue
        fleet.append((group, hours / HOURS_PER_MONTH, why))
    return fleet


@rule(INSTANCE)
def instance(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    region = vm_region(resource, ctx)

    def build(charges: list[Charge], notes: list[str]) -> None:
        _compute_charges(ctx, region, _machine_settings(resource.inputs), 1, min(ctx.usage.vm_hours, HOURS_PER_MONTH), charges, notes)

    return [ctx.line(resource, region, build)]


@rule(*MIGS)
def instance_group(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    region = vm_region(resource, ctx)
    template = _template_of(resource, ctx)

    def build(charges: list[Charge], notes: list[str]) -> None:
        if template is None:
            raise NoPrice("instance group without a template declared in this program (cannot read its machine type)")
        hours, why = group_hours(resource, ctx)
        notes.append(f"{why}; machine from template {template.name!r}")
        _compute_charges(ctx, region, _machine_settings(template.inputs), 1, hours, charges, notes)

    return [ctx.line(resource, region, build)]


@rule("gcp:compute/disk:Disk", "gcp:compute/regionDisk:RegionDisk")
def disk(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    region = region_of(inputs.get("region") or inputs.get("zone"), ctx.region)
    disk_type, size = basename(inputs.get("type")) or "pd-standard", number(inputs.get("size"), 10)
    replicas = 2 if resource.type.endswith("RegionDisk") else 1

    def build(charges: list[Charge], notes: list[str]) -> None:
        charges.append(ctx.charge("compute", f"disk.{disk_type}", region, f"{size:g} GiB {disk_type}", size * replicas, "fixed"))

    return [ctx.line(resource, region, build)]


@rule("gcp:vpcaccess/connector:Connector")
def vpc_connector(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    region = region_of(inputs.get("region"), ctx.region)
    machine = basename(inputs.get("machineType")) or "e2-micro"
    count = int(number(inputs.get("minInstances"), 2))

    def build(charges: list[Charge], notes: list[str]) -> None:
        notes.append("Serverless VPC Access connector instances are billed as Compute Engine VMs")
        _compute_charges(ctx, region, (machine, False, [], []), count, HOURS_PER_MONTH, charges, notes)

    return [ctx.line(resource, region, build)]


# ---------------------------------------------------------------- Vertex AI endpoints


@rule(VERTEX_DEPLOYMENT)
def vertex_deployment(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    inputs = resource.inputs
    region = region_of(inputs.get("location"), ctx.region)
    resources = lookup(inputs, "deployConfig.dedicatedResources") or {}
    spec = resources.get("machineSpec") or {}
    machine = str(spec.get("machineType") or "")
    accelerator = str(spec.get("acceleratorType") or "")
    accelerators = int(number(spec.get("acceleratorCount"), 1 if accelerator else 0))
    replicas = int(number(resources.get("minReplicaCount"), 1))
    hours = min(ctx.usage.endpoint_hours, HOURS_PER_MONTH)

    def build(charges: list[Charge], notes: list[str]) -> None:
        if not machine:
            raise NoPrice("vertex_ai deployment without deployConfig.dedicatedResources.machineSpec.machineType")
        if resources.get("spot"):
            raise NoPrice(f"vertex_ai Spot node {machine} (vertex_ai.yaml has on-demand node-hours only)")
        notes.append(f"{replicas} replica(s) (min replica count) × {machine}"
                     + (f" + {accelerators} × {accelerator}" if accelerator else "") + f", {hours:g} h a month; autoscaling above it not included")
        charges.append(ctx.charge("vertex_ai", f"node.{machine}", region, f"{machine} node-hours", replicas * hours, "fixed"))
        if accelerator:
            charges.append(ctx.charge("vertex_ai", f"accelerator.{accelerator}", region, f"{accelerator} hours", replicas * accelerators * hours, "fixed"))

    return [ctx.line(resource, region, build)]

from stagewise.cost import rules_modelarmor as _rules_modelarmor  # noqa: E402,F401  (registers the Model Armor rule)
