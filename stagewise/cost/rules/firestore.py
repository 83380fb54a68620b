"""Firestore: the database's operations and storage, its backups, and the scheduled export's reads."""

from __future__ import annotations

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, LineItem
from stagewise.cost.rules.fleet import cron_days_per_month
from stagewise.cost.rules.registry import FIRESTORE_DB, region_of, rule, seconds
from stagewise.cost.traffic import total_requests
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


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
