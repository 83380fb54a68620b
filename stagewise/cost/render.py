"""Text and Markdown renderings of an estimate and of a stack-to-stack diff (JSON is `to_document`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from stagewise.cost.diff import CostDiff, DiffEntry
from stagewise.cost.model import Charge, Estimate


def money(value: float) -> str:
    return f"${value:,.2f}"


def quantity(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def unit_price(value: float) -> str:
    """Plain decimals, no exponent: $0.0000003 per token reads better than $3e-07."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return f"${text or '0'}"


def charge_text(charge: Charge) -> str:
    free = f" − {quantity(charge.free_quantity)} free" if charge.free_quantity else ""
    mark = "" if charge.verified else " *"
    return (f"{charge.item}: {quantity(charge.quantity)}{free} {charge.unit} × {unit_price(charge.unit_price)}"
            f" = {money(charge.cost)} [{charge.kind}]{mark}")


def _short_type(type_token: str) -> str:
    return type_token.split(":", 1)[-1] if type_token.startswith("gcp:") else type_token


def budget_warning(estimate: Estimate) -> str | None:
    if not estimate.over_budget or estimate.budget_usd is None:
        return None
    return (f"WARNING: the estimate {money(estimate.total)}/month exceeds the budget {money(estimate.budget_usd)}/month "
            "(stagewise:budget.monthlyUsd): raise the budget or cut the cost")


def render_text(estimate: Estimate, *, detail: bool = True) -> str:
    out = [f"Monthly cost of {estimate.project}/{estimate.stack} (stage {estimate.stage}, {estimate.region}) — USD list prices"]
    billable = [line for line in estimate.lines if line.status == "priced"]
    width = max([len(line.name) for line in billable] + [8])
    out.append(f"  {'RESOURCE':<{width}}  {'TYPE':<44} {'FIXED':>10} {'USAGE':>10} {'MONTHLY':>10}")
    for line in sorted(billable, key=lambda item: -item.monthly):
        out.append(f"  {line.name:<{width}}  {_short_type(line.type):<44} {money(line.fixed):>10} {money(line.usage):>10} {money(line.monthly):>10}")
        if detail:
            out += [f"      {charge_text(charge)}" for charge in line.charges]
            out += [f"      assumes: {note}" for note in line.assumptions]
    out.append(f"  {'TOTAL':<{width}}  {'':<44} {money(estimate.fixed):>10} {money(estimate.usage_total):>10} {money(estimate.total):>10}")
    unpriced = estimate.unpriced
    if unpriced:
        out.append(f"\nUnpriced ({len(unpriced)}) — NOT included in the total:")
        out += [f"  {line.name} ({line.type}): {line.reason}" for line in unpriced]
    free = estimate.by_status("free")
    if free:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for line in free:
            by_reason[line.reason].append(line.name)
        out.append(f"\nFree ({len(free)}):")
        out += [f"  {len(names)} × {reason}: {', '.join(sorted(names))}" for reason, names in sorted(by_reason.items())]
    warning = budget_warning(estimate)
    if estimate.budget_usd is not None:
        out.append("\n" + (warning or f"Within the budget of {money(estimate.budget_usd)}/month."))
    if detail:
        out.append("\nUsage profile: " + ", ".join(f"{k}={_usage_value(v)}" for k, v in estimate.usage.describe().items()))
        out.append("Assumptions: " + "; ".join(estimate.assumptions) + ". Prices marked * are not verified against the page.")
        out.append("Price sources: " + "; ".join(f"{s['service']} {s['source']} (read {s['read']})" for s in estimate.sources))
    return "\n".join(out)


def _usage_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{quantity(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "derived"
    return quantity(float(value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(estimate: Estimate) -> str:
    out = [f"### Monthly cost: {money(estimate.total)} ({estimate.stack}, {estimate.region})", ""]
    warning = budget_warning(estimate)
    if warning:
        out += [f"> **{warning}**", ""]
    out += ["| Resource | Type | Monthly | How |", "|---|---|---:|---|"]
    for line in sorted(estimate.by_status("priced"), key=lambda item: -item.monthly):
        how = "; ".join(charge_text(charge) for charge in line.charges)
        out.append(f"| {_cell(line.name)} | `{_cell(line.type)}` | {money(line.monthly)} | {_cell(how)} |")
    out.append(f"| **Total** | | **{money(estimate.total)}** | fixed {money(estimate.fixed)}, usage {money(estimate.usage_total)} |")
    if estimate.unpriced:
        out += ["", f"**Unpriced ({len(estimate.unpriced)}), not in the total:**", ""]
        out += [f"- `{_cell(line.type)}` {_cell(line.name)}: {_cell(line.reason)}" for line in estimate.unpriced]
    out += ["", f"{len(estimate.by_status('free'))} resources are free (IAM, API enablement, configuration). "
            "Prices marked * are not verified against Google's page."]
    return "\n".join(out)


def render_diff_text(diff: CostDiff) -> str:
    a, b = diff.before, diff.after
    out = [f"From {a.stack} ({money(a.total)}/month) to {b.stack} ({money(b.total)}/month): {_signed(diff.delta)}/month",
           f"Each at its own usage profile: {a.stack} {a.usage.requests_per_month:,.0f} requests/month, "
           f"{b.stack} {b.usage.requests_per_month:,.0f} (usage flags apply to both)."]
    for title, entries in (("Added", diff.added), ("Removed", diff.removed), ("Changed", diff.changed)):
        if not entries:
            continue
        costly = sorted((e for e in entries if not _free_and_zero(e)), key=lambda e: (-abs(e.delta), e.name))
        free = sorted(e.name for e in entries if _free_and_zero(e))
        out.append(f"\n{title} ({len(entries)}):")
        name_width = max([len(e.name) for e in costly] + [8])
        type_width = max([len(_short_type(e.type)) for e in costly] + [8])
        for entry in costly:
            unpriced = "  (unpriced)" if "unpriced" in (entry.status_before, entry.status_after) else ""
            out.append(f"  {entry.name:<{name_width}}  {_short_type(entry.type):<{type_width}}  "
                       f"{money(entry.before):>10} → {money(entry.after):>10}  {_signed(entry.delta):>11}{unpriced}")
        if free:
            out.append(f"  free ({len(free)}): {', '.join(free)}")
    out.append(f"\nTotal: {money(a.total)} → {money(b.total)} ({_signed(diff.delta)}/month)")
    if a.unpriced or b.unpriced:
        out.append(f"Unpriced resources (not in totals): {a.stack} {len(a.unpriced)}, {b.stack} {len(b.unpriced)}")
    return "\n".join(out)


def _free_and_zero(entry: DiffEntry) -> bool:
    return entry.delta == 0 and entry.before == 0 and "free" in (entry.status_before, entry.status_after) \
        and "unpriced" not in (entry.status_before, entry.status_after)


def render_diff_markdown(diff: CostDiff) -> str:
    a, b = diff.before, diff.after
    out = [f"### {a.stack} → {b.stack}: {money(a.total)} → {money(b.total)} ({_signed(diff.delta)}/month)", "",
           "| Change | Resource | Type | Before | After | Delta |", "|---|---|---|---:|---:|---:|"]
    for title, entries in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for entry in sorted(entries, key=lambda e: -abs(e.delta)):
            out.append(f"| {title} | {_cell(entry.name)} | `{_cell(entry.type)}` | {money(entry.before)} | {money(entry.after)} | {_signed(entry.delta)} |")
    return "\n".join(out)


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + money(abs(value))
