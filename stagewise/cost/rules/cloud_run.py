"""Cloud Run services, and the model chain that decides which model answers their calls."""

from __future__ import annotations

from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, HOURS_PER_MONTH, LineItem, SECONDS_PER_MONTH
from stagewise.cost.models import lifecycle_note, model_key
from stagewise.cost.partner_ranges import source_range_lines
from stagewise.cost.prices import NoPrice
from stagewise.cost.rules.fleet import vm_fleet
from stagewise.cost.rules.registry import (
    RUN_SERVICE,
    VERTEX_DEPLOYMENT,
    cpu_count,
    env_of,
    memory_gib,
    number,
    region_of,
    rule,
    seconds,
)
from stagewise.cost.traffic import Uptime, gpu_count, request_serving_services, scale_to_zero_uptime, service_requests
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


def self_hosted_requests(ctx: Context) -> float:
    """Requests a month the self-hosted model server answers: each service's share from its chain."""
    total = 0.0
    for service in request_serving_services(ctx):
        env = env_of(lookup(service.inputs, "template.containers[0]") or {})
        share = sum(fraction for model, fraction, _ in chain_shares(env, ctx) if model is None)
        total += service_requests(service, ctx) * share
    return total


def gpu_service_uptime(resource: DeclaredResource, ctx: Context, minimum: int) -> Uptime:
    inputs = resource.inputs
    if ctx.usage.gpu_service_hours is not None:
        seconds = max(minimum * SECONDS_PER_MONTH, ctx.usage.gpu_service_hours * 3600)
        return Uptime(seconds, f"gpu_service_hours={ctx.usage.gpu_service_hours:g} from the usage profile (or min instances all month)")
    gpu_services = [s for s in ctx.of_types(RUN_SERVICE) if gpu_count(s.inputs)]
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
    gpus = gpu_count(inputs)
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
    if any(gpu_count(s.inputs) for s in ctx.of_types(RUN_SERVICE)) or ctx.of_types(VERTEX_DEPLOYMENT):
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
    env = env_of(container)
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
