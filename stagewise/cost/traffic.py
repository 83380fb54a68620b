"""Hours and volumes that follow the traffic: requests per service, a scale-to-zero server's uptime.

The model (stated so a hand calculation can follow it):

- Requests arrive evenly within `active_hours_per_day` (a window W = that × 3600 × 365/12 seconds a
  month) at rate λ = requests / W, as a Poisson stream.
- A scale-to-zero server holds each request `hold` seconds and stays up `idle_timeout_s` after the
  last one, so it is up whenever a request arrived within the last H = idle + hold seconds:
  P(up) = 1 − e^(−λH) (the chance that at least one arrival fell in the last H seconds).
- An arrival that finds it down starts it: R·e^(−λH) starts a month, each billing `cold_start_s`.
- Above one instance's capacity, instances follow the load: R × hold / concurrency instance-seconds.
- Instance-seconds = max(W·P(up) + starts × cold_start, R × hold / concurrency), at least
  min instances × the month, at most max instances × the month.

Sources (searched 2026-12-01): a GPU instance is billed for its whole lifetime, instance-based
(https://cloud.google.com/run/docs/configuring/services/gpu, "GPU is billed for the entire duration
of the instance lifecycle"); Cloud Run removes idle instances
(https://cloud.google.com/run/docs/configuring/min-instances) after a period Google does not state:
"roughly 10–15 minutes" in third-party measurements
(https://braindrip.blog/blueprints/deploy-gemma-to-cloud-run/01-deploy-gemma-to-cloud-run/06-costs-safety-and-teardown),
hence the 900 s default of idle_timeout_s, an assumption to override. The GPU itself is ready in
about 5 s (GPU page); cold_start_s (120 s) adds loading the model's weights, an assumption too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import DAYS_PER_MONTH, HOURS_PER_MONTH, SECONDS_PER_MONTH
from stagewise.engine.record import DeclaredResource
from stagewise.engine.props import lookup

RUN_SERVICE = "gcp:cloudrunv2/service:Service"


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def gpu_count(inputs: dict[str, Any]) -> int:
    limits = lookup(inputs, "template.containers[0].resources.limits") or {}
    return int(_number(limits.get("nvidia.com/gpu"), 0))


def request_serving_services(ctx: Context) -> list[DeclaredResource]:
    """Cloud Run services that take chat requests: those without a GPU (GPU services serve a model)."""
    return [s for s in ctx.of_types(RUN_SERVICE) if not gpu_count(s.inputs)]


def _service_key(resource: DeclaredResource, by_service: dict[str, float]) -> str | None:
    for key in (str(resource.inputs.get("name") or ""), resource.name):
        if key and key in by_service:
            return key
    return None


def service_requests(resource: DeclaredResource, ctx: Context) -> float:
    """This service's requests a month: its `requests_by_service` figure, or an even part of the rest."""
    serving = request_serving_services(ctx)
    if resource not in serving:
        return 0.0
    by_service = ctx.usage.requests_by_service
    key = _service_key(resource, by_service)
    if key is not None:
        return by_service[key]
    named = [s for s in serving if _service_key(s, by_service) is not None]
    rest = max(ctx.usage.requests_per_month - sum(by_service[_service_key(s, by_service) or ""] for s in named), 0.0)
    unnamed = len(serving) - len(named)
    return rest / unnamed if unnamed else 0.0


def total_requests(ctx: Context) -> float:
    """Requests the stack serves a month (every request-serving service together)."""
    serving = request_serving_services(ctx)
    if not serving:
        return ctx.usage.requests_per_month
    return sum(service_requests(s, ctx) for s in serving)


def log_gb(ctx: Context) -> float:
    return ctx.usage.log_gb + total_requests(ctx) * ctx.usage.log_kib_per_request / 2**20


def nat_gb(ctx: Context) -> float:
    return ctx.usage.nat_gb + total_requests(ctx) * ctx.usage.nat_kib_per_request / 2**20


@dataclass(frozen=True)
class Uptime:
    instance_seconds: float
    why: str

    @property
    def hours(self) -> float:
        return self.instance_seconds / 3600


def active_window_s(ctx: Context) -> float:
    return ctx.usage.active_hours_per_day * 3600 * DAYS_PER_MONTH


def scale_to_zero_uptime(ctx: Context, requests: float, hold_s: float, concurrency: float,
                         min_instances: int, max_instances: int | None) -> Uptime:
    """Instance-seconds a month of a server that scales to zero, from the traffic (module docstring)."""
    floor = min_instances * SECONDS_PER_MONTH
    if requests <= 0:
        return Uptime(floor, f"no requests: {min_instances} min instance(s) × {HOURS_PER_MONTH:g} h")
    u = ctx.usage
    window = active_window_s(ctx)
    rate = requests / window
    held = u.idle_timeout_s + hold_s
    up = 1 - math.exp(-rate * held)
    starts = requests * math.exp(-rate * held)
    single = window * up + starts * u.cold_start_s
    load = requests * hold_s / max(concurrency, 1.0)
    seconds = max(single, load, floor)
    if max_instances:
        seconds = min(seconds, max_instances * SECONDS_PER_MONTH)
    why = (f"{requests:,.0f} requests in {u.active_hours_per_day:g} h a day (λ = {rate:.4g}/s), {hold_s:g} s each, "
           f"idle timeout {u.idle_timeout_s:g} s: up {up:.1%} of {window / 3600:,.0f} h + {starts:,.0f} cold starts × "
           f"{u.cold_start_s:g} s; load {load / 3600:,.1f} instance-hours at concurrency {concurrency:g}; "
           f"min {min_instances} → {seconds / 3600:,.1f} instance-hours")
    return Uptime(seconds, why)
