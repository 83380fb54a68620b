"""Cloud Storage buckets: storage by class and location, operations, early deletion."""

from __future__ import annotations

import math

from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, LineItem
from stagewise.cost.rules.firestore import export_days_per_month, is_firestore_export
from stagewise.cost.rules.registry import number, region_of, rule
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


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
