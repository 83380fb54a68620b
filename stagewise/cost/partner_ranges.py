"""The price of enforcing partners' source ranges (issue 23), on the Cloud Run service that does it.

A service whose env carries CHAT_ALLOWED_CIDRS_<PARTNER> checks the ranges in its own app: no
resource is added, so the line is priced at $0, and its assumptions say what the alternative would
cost: an external Application Load Balancer in front of the service (one forwarding rule all
month) with a Cloud Armor policy (the policy, one allow rule per partner plus the default deny, and
every request evaluated), priced from the same price book (load_balancing.yaml, cloud_armor.yaml).
"""

from __future__ import annotations

from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import HOURS_PER_MONTH, Charge, LineItem
from stagewise.engine.record import DeclaredResource

RANGES_PREFIX = "CHAT_ALLOWED_CIDRS_"
TYPE_TOKEN = "stagewise:partners:SourceRangeCheck"


def _ranges(container: dict[str, Any]) -> dict[str, int]:
    """Partner -> number of ranges, from the service's plain env."""
    found: dict[str, int] = {}
    for env in container.get("envs") or []:
        name, value = str(env.get("name", "")), env.get("value")
        if name.startswith(RANGES_PREFIX) and isinstance(value, str):
            found[name[len(RANGES_PREFIX):].lower().replace("_", "-")] = len([p for p in value.split(",") if p.strip()])
    return found


def alternative_usd(ctx: Context, partners: int, requests: float) -> tuple[float, str]:
    """What a load balancer + Cloud Armor in front of the service would add a month, and how."""
    forwarding = ctx.book.entry("load_balancing", "forwarding_rule_first5").at("global") * HOURS_PER_MONTH
    policy = ctx.book.entry("cloud_armor", "policy").at("global")
    rules = (partners + 1) * ctx.book.entry("cloud_armor", "rule").at("global")
    evaluated = requests * ctx.book.entry("cloud_armor", "requests").at("global")
    total = forwarding + policy + rules + evaluated
    processing = ctx.book.entry("load_balancing", "outbound_data").at(ctx.region)
    how = (f"forwarding rule {HOURS_PER_MONTH:g} h = ${forwarding:,.2f}, Armor policy ${policy:,.2f}, "
           f"{partners + 1} rules ${rules:,.2f}, {requests:,.0f} requests ${evaluated:,.2f}; plus ${processing:g}/GiB "
           "of data processed each way; Armor prices unverified")
    return total, how


def source_range_lines(resource: DeclaredResource, ctx: Context, container: dict[str, Any], requests: float) -> list[LineItem]:
    ranges = _ranges(container)
    if not ranges:
        return []

    def build(charges: list[Charge], notes: list[str]) -> None:
        listed = ", ".join(f"{partner}: {count} range{'s' if count != 1 else ''}" for partner, count in sorted(ranges.items()))
        notes.append(f"source ranges checked by the app on this service ({listed}): no load balancer or Cloud Armor, $0 a month")
        total, how = alternative_usd(ctx, len(ranges), requests)
        notes.append(f"the alternative, a load balancer with Cloud Armor in front, would add ${total:,.2f} a month ({how}), "
                     "and could only admit all partners' ranges together")

    return [ctx.line(resource, "global", build, name=f"{resource.name} → partner source ranges (app check)", type_token=TYPE_TOKEN)]
