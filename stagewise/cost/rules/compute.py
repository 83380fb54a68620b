"""Compute Engine: VMs and instance groups (machine, GPUs, Spot), disks, Serverless VPC connectors."""

from __future__ import annotations

from typing import Any

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, HOURS_PER_MONTH, Kind, LineItem
from stagewise.cost.prices import NoPrice
from stagewise.cost.rules.cloud_run import self_hosted_requests
from stagewise.cost.rules.fleet import group_hours, vm_region
from stagewise.cost.rules.registry import INSTANCE, MIGS, TEMPLATES, basename, number, region_of, rule
from stagewise.engine.record import DeclaredResource


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


def _template_of(group: DeclaredResource, ctx: Context) -> DeclaredResource | None:
    templates = ctx.linked(group, *TEMPLATES)
    return templates[0] if templates else None


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
        # Load beyond the scheduled floor: the self-hosted calls × hold time, spread over the groups.
        load = self_hosted_requests(ctx) * ctx.usage.model_seconds_per_request / 3600 / max(len(ctx.of_types(*MIGS)), 1)
        hours, why = group_hours(resource, ctx, load)
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
