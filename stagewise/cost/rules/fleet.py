"""How many VMs run: single instances, and instance groups from their autoscaler's minimum and
day-of-week scaling schedules (the load on top is the caller's)."""

from __future__ import annotations

from stagewise.cost.context import Context
from stagewise.cost.model import HOURS_PER_MONTH
from stagewise.cost.prices import NoPrice
from stagewise.cost.rules.registry import AUTOSCALERS, INSTANCE, MIGS, number, region_of
from stagewise.engine.record import DeclaredResource


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


def group_hours(group: DeclaredResource, ctx: Context, load: float | None = None) -> tuple[float, str]:
    """Instance-hours a month of a managed instance group, from its autoscaler or target size; ``load``
    (the instance-hours the self-hosted calls need, from the model chain) may raise it up to the maximum."""
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
    if load is None:
        return total, why
    if load > total:
        return min(load, high * HOURS_PER_MONTH), why + f"; the load needs {load:,.1f} instance-hours (max {high})"
    return total, why + f" (max {high}; the load needs {load:,.1f} instance-hours, within it)"


def vm_fleet(ctx: Context) -> list[tuple[DeclaredResource, float, str]]:
    """Every VM-producing resource with its average number of running instances."""
    fleet: list[tuple[DeclaredResource, float, str]] = [(r, 1.0, "a single instance") for r in ctx.of_types(INSTANCE)]
    for group in ctx.of_types(*MIGS):
        try:
            hours, why = group_hours(group, ctx)
        except NoPrice:
            continue
        fleet.append((group, hours / HOURS_PER_MONTH, why))
    return fleet


def vm_region(resource: DeclaredResource, ctx: Context) -> str:
    inputs = resource.inputs
    return region_of(inputs.get("region") or inputs.get("zone"), ctx.region)
