"""Vertex AI: dedicated Model Garden endpoints."""

from __future__ import annotations

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, HOURS_PER_MONTH, LineItem
from stagewise.cost.prices import NoPrice
from stagewise.cost.rules.registry import VERTEX_DEPLOYMENT, number, region_of, rule
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


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
