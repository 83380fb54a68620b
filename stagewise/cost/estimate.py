"""Walk what a program declared and price every resource: the monthly estimate of one stack."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pydantic import ValidationError

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, Estimate, LineItem
from stagewise.cost.prices import PriceBook, default_price_book
from stagewise.cost.traffic import log_gb, total_requests
from stagewise.cost.rules import INSTANCE, MIGS, RULES, RUN_SERVICE, VERTEX_DEPLOYMENT, region_of
from stagewise.engine.record import DeclaredResource, ProgramError, ProgramRun
from stagewise.cost.usage_file import USAGE_DIR, UsageFileError, usage_file_for
from stagewise.stacks.config.budget import BudgetConfig
from stagewise.stacks.config.loader import merged_config
from stagewise.stacks.config.usage import STAGE_DEFAULTS, UsageConfig, UsageProfile

# Types whose presence means the stack serves traffic, writes logs and sends data to the internet.
WORKLOADS = (RUN_SERVICE, INSTANCE, *MIGS, VERTEX_DEPLOYMENT)

GLOBAL_ASSUMPTIONS = (
    "list prices in USD, before taxes, credits, committed-use or sustained-use discounts",
    "a month is 730 hours; free tiers are applied once for this stack (they are shared per billing account or project)",
    "usage figures come from the stage's usage profile (stagewise:usage overrides the stage defaults)",
)


def _json(raw: str | None) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProgramError(f"config value is not JSON: {exc.msg}") from None


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def usage_for(run: ProgramRun, overrides: Mapping[str, Any] | None = None) -> UsageProfile:
    """The run's usage profile: stage defaults ← usage/<stack>.yml ← stagewise:usage ← command-line overrides.

    The stack's config is read through `merged_config`, so a dotted override
    (`--config stagewise:usage.requestsPerMonth=300000`) reaches the estimate.
    """
    config = merged_config(run.config)
    stage = config.get("stagewise:stage", run.stack)
    if stage not in STAGE_DEFAULTS:
        raise ProgramError(f"stage {stage!r} has no usage defaults; set stagewise:stage to one of {', '.join(STAGE_DEFAULTS)}")
    try:
        # The project's own usage/ (another team's project has its own, or none: stage defaults).
        directory = run.project_root / "usage" if run.project_root is not None else USAGE_DIR
        file_usage = usage_file_for(run.stack, stage, directory)
    except UsageFileError as exc:
        raise ProgramError(str(exc)) from None
    stack_usage = _json(config.get("stagewise:usage"))
    if not isinstance(stack_usage, dict):
        raise ProgramError("stagewise:usage: must be an object of usage figures (see docs/cost.md)")
    try:
        profile = UsageConfig.model_validate(_deep_merge(file_usage, stack_usage)).resolve(stage)
        return profile.with_overrides(dict(overrides or {}))
    except (ValidationError, ValueError) as exc:
        raise ProgramError(f"stagewise:usage: {exc}") from None


def budget_for(run: ProgramRun) -> float | None:
    try:
        return BudgetConfig.model_validate(_json(merged_config(run.config).get("stagewise:budget"))).monthly_usd
    except ValidationError as exc:
        raise ProgramError(f"stagewise:budget: {exc}") from None


def _price_resource(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    rule = RULES.get(resource.type)
    if rule is not None:
        return rule(resource, ctx)
    reason = ctx.book.free_reason(resource.type)
    if reason is not None:
        return [LineItem(resource.urn, resource.type, resource.name, "free", reason=reason)]
    return [LineItem(resource.urn, resource.type, resource.name, "unpriced",
                     reason="no price rule for this resource type (stagewise/cost/rules/) and not listed as free")]


def _project_lines(ctx: Context) -> list[LineItem]:
    """Usage that belongs to the project rather than one resource: logs and internet egress."""
    if not ctx.of_types(*WORKLOADS):
        return []
    stack = DeclaredResource(urn=ctx.run.stack_urn, type="pulumi:pulumi:Stack", name=ctx.run.stack, parent="",
                             custom=False, inputs_struct=_empty(), outputs_struct=_empty())
    u = ctx.usage

    def logs(charges: list[Charge], notes: list[str]) -> None:
        volume = log_gb(ctx)
        notes.append(f"{volume:,.2f} GiB of logs a month: {u.log_gb:g} GiB (audit, platform) + {total_requests(ctx):,.0f} requests × "
                     f"{u.log_kib_per_request:g} KiB")
        charges.append(ctx.charge("logging", "ingestion", "global", "log ingestion", volume, "usage"))

    def egress(charges: list[Charge], notes: list[str]) -> None:
        notes.append(f"{u.egress_gb:g} GiB of answers streamed to users (Premium Tier)")
        charges.append(ctx.charge("network", "internet_egress", ctx.region, "internet egress", u.egress_gb, "usage"))

    return [
        ctx.line(stack, "global", logs, name="project logs", type_token="stagewise:project:CloudLogging"),
        ctx.line(stack, ctx.region, egress, name="internet egress", type_token="stagewise:project:InternetEgress"),
    ]


def _empty() -> struct_pb2.Struct:
    return struct_pb2.Struct()


def estimate_run(
    run: ProgramRun,
    usage_overrides: Mapping[str, Any] | None = None,
    book: PriceBook | None = None,
) -> Estimate:
    """Price every resource ``run`` declared (components are groupings and carry no cost)."""
    usage = usage_for(run, usage_overrides)
    config = merged_config(run.config)
    region = region_of(config.get("gcp:region"), "us-central1")
    ctx = Context(run=run, usage=usage, book=book or default_price_book(), region=region)
    lines: list[LineItem] = []
    # Registration order varies between runs (the SDK registers concurrently): walk by URN so the
    # shared free tiers land on the same lines every time.
    for resource in sorted(run.resources, key=lambda r: r.urn):
        if resource.custom:
            lines.extend(_price_resource(resource, ctx))
    lines.extend(_project_lines(ctx))
    return Estimate(
        project=run.project,
        stack=run.stack,
        stage=config.get("stagewise:stage", run.stack),
        region=region,
        usage=usage,
        lines=lines,
        assumptions=list(GLOBAL_ASSUMPTIONS),
        sources=ctx.book.sources(),
        budget_usd=budget_for(run),
    )
