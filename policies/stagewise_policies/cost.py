"""Cost guardrails: scaling caps, GPU caps, what a stage may declare and where, and a budget."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import ANY_TYPE, Finding, Resource, resource_rule, stack_rule
from .compute import accelerator_requests
from .props import config_int, config_list, flag, get, items, number, region_of, text

# Resources whose location is governed elsewhere (bucket and secret residency rules) or is not a region.
LOCATION_EXEMPT = (t.BUCKET, t.SECRET, t.LOG_BUCKET)
LOCATION_KEYS = ("region", "location", "zone", "locationId")


def _run_scaling(resource: Resource) -> tuple[float | None, float]:
    """(max instances, min instances) of a Cloud Run service (template scaling, service scaling)."""
    maximum = number(resource.props, "template.scaling.maxInstanceCount")
    service_max = number(resource.props, "scaling.maxInstanceCount")
    if service_max is not None:
        maximum = service_max if maximum is None else min(maximum, service_max)
    minimum = max(number(resource.props, "template.scaling.minInstanceCount") or 0.0,
                  number(resource.props, "scaling.minInstanceCount") or 0.0)
    return maximum, minimum


@resource_rule(
    "cost-run-max-instances",
    family="cost",
    description="Cloud Run services set max instances, at or under the stage cap (a runaway scale-out is the biggest bill risk).",
    severity=Severity.HIGH,
    remediation="Set template.scaling.max_instance_count (stagewise:service maxInstances) at or under maxInstances.",
    types=[t.RUN_SERVICE],
    params={"maxInstances": {"type": "integer", "minimum": 1, "default": 20, "description": "highest max instances per service"}},
)
def run_max_instances(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxInstances")
    maximum, _ = _run_scaling(resource)
    if maximum is None:
        yield Finding("max instances is unset (Cloud Run's default is 100)", f"set max_instance_count to at most {cap}")
    elif maximum > cap:
        yield Finding(f"max instances {maximum:g} exceeds the stage cap of {cap}", f"set max_instance_count to at most {cap}")


@resource_rule(
    "cost-run-min-instances",
    family="cost",
    description="Cloud Run services keep at most maxMinInstances warm (0 in mvp and staging: scale to zero).",
    severity=Severity.MEDIUM,
    remediation="Set min_instance_count to 0 (stagewise:service minInstances) or within the stage's maxMinInstances.",
    types=[t.RUN_SERVICE],
    params={"maxMinInstances": {"type": "integer", "minimum": 0, "default": 0, "description": "highest min instances per service"}},
)
def run_min_instances(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxMinInstances")
    _, minimum = _run_scaling(resource)
    if minimum > cap:
        yield Finding(f"keeps {minimum:g} instances always on, over the stage's {cap}", f"set min_instance_count to at most {cap}")


@resource_rule(
    "cost-run-cpu-throttling",
    family="cost",
    description="Outside prod, Cloud Run bills CPU only during requests (cpu_idle on): always-allocated CPU is billed around the clock.",
    severity=Severity.LOW,
    remediation="Set resources.cpu_idle=True (stagewise:service cpuIdle) unless background work needs CPU between requests.",
    types=[t.RUN_SERVICE],
)
def run_cpu_throttling(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    for index, container in enumerate(items(get(resource.props, "template.containers"))):
        if flag(container, "resources.cpuIdle", default=True) is False:
            yield Finding(f"container {index} has CPU always allocated", "set resources.cpu_idle=True")


@resource_rule(
    "cost-gpu-per-service",
    family="cost",
    description="GPUs a single service, VM group or Vertex deployment can hold at full scale stay within maxGpusPerService.",
    severity=Severity.HIGH,
    remediation="Lower max instances/replicas or GPUs per instance so that their product is within maxGpusPerService.",
    types=[t.RUN_SERVICE, t.VERTEX_MODEL_GARDEN],
    params={"maxGpusPerService": {"type": "integer", "minimum": 0, "default": 4, "description": "GPUs one service may scale to"}},
)
def gpu_per_service(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxGpusPerService")
    total = gpu_at_full_scale(resource)
    if total > cap:
        yield Finding(f"can scale to {total:g} GPUs, over the cap of {cap}", "lower max instances or GPUs per instance")


def gpu_at_full_scale(resource: Resource) -> float:
    per_instance = sum(count for _, count in accelerator_requests(resource))
    if not per_instance:
        return 0.0
    if resource.type == t.RUN_SERVICE:
        maximum, _ = _run_scaling(resource)
        return per_instance * (maximum if maximum is not None else 100.0)
    if resource.type == t.VERTEX_MODEL_GARDEN:
        resources = get(resource.props, "deployConfig.dedicatedResources")
        replicas = number(resources, "maxReplicaCount") or number(resources, "minReplicaCount") or 1.0
        return per_instance * replicas
    return per_instance


def _mig_size(mig: Resource, autoscalers: list[Resource]) -> float:
    for autoscaler in autoscalers:
        if mig in autoscaler.property_dependencies.get("target", ()) or text(autoscaler.props, "target") in (
            text(mig.props, "selfLink"), text(mig.props, "id"), text(mig.props, "name"),
        ):
            return number(autoscaler.props, "autoscalingPolicy.maxReplicas") or 0.0
    return number(mig.props, "targetSize") or 0.0


@stack_rule(
    "cost-gpu-stack-total",
    family="cost",
    description="All GPUs the stack can scale to (Cloud Run, VMs, instance groups at max size, Vertex deployments) stay within maxTotalGpus.",
    severity=Severity.HIGH,
    remediation="Lower replica/instance caps or GPUs per instance, or raise maxTotalGpus after checking quota and budget.",
    types=[t.RUN_SERVICE, *t.VM_LIKE, *t.MIGS, *t.AUTOSCALERS, t.VERTEX_MODEL_GARDEN],
    params={"maxTotalGpus": {"type": "integer", "minimum": 0, "default": 8, "description": "GPUs the whole stack may scale to"}},
)
def gpu_stack_total(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    cap = config_int(config, "maxTotalGpus")
    autoscalers = [r for r in resources if r.type in t.AUTOSCALERS]
    templates = {r.urn: r for r in resources if r.type in (t.INSTANCE_TEMPLATE, t.REGION_INSTANCE_TEMPLATE)}
    total = 0.0
    for resource in resources:
        if resource.type in (t.RUN_SERVICE, t.VERTEX_MODEL_GARDEN, t.INSTANCE):
            total += gpu_at_full_scale(resource)
        elif resource.type in t.MIGS:
            per_vm = max((gpu_at_full_scale(templates[d.urn]) for d in resource.dependencies if d.urn in templates), default=0.0)
            total += per_vm * _mig_size(resource, autoscalers)
    if total > cap:
        yield None, Finding(f"the stack can scale to {total:g} GPUs, over the cap of {cap}", "lower instance or replica caps")


@resource_rule(
    "cost-mig-size-cap",
    family="cost",
    description="Instance groups and their autoscalers stay within maxInstances.",
    severity=Severity.MEDIUM,
    remediation="Lower target_size or autoscaling_policy.max_replicas to the stage's maxInstances.",
    types=[*t.MIGS, *t.AUTOSCALERS],
    params={"maxInstances": {"type": "integer", "minimum": 0, "default": 4, "description": "largest instance group size"}},
)
def mig_size_cap(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxInstances")
    if resource.type in t.AUTOSCALERS:
        size = number(resource.props, "autoscalingPolicy.maxReplicas")
        field = "autoscaling_policy.max_replicas"
    else:
        size = number(resource.props, "targetSize")
        field = "target_size"
    if size is not None and size > cap:
        yield Finding(f"{field} is {size:g}, over the cap of {cap}", f"set {field} to at most {cap}")


@resource_rule(
    "cost-resource-type-denylist",
    family="cost",
    description="A stage declares no resource type on its denylist (e.g. no GPU VMs or Model Garden deployments in mvp).",
    severity=Severity.HIGH,
    remediation="Move the resource to a later stage's composition, or change the stage's deniedTypes with a reason.",
    types=[ANY_TYPE],
    applies_to="every resource (types listed in deniedTypes)",
    params={"deniedTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                            "description": "type tokens this stage must not declare"}},
)
def resource_type_denylist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type in config_list(config, "deniedTypes"):
        yield Finding(f"{resource.type} is not allowed in this stage", "declare it in a later stage only")


def _locations(resource: Resource) -> list[str]:
    found: list[str] = []
    for key in LOCATION_KEYS:
        value = get(resource.props, key)
        if isinstance(value, str) and value:
            found.append(region_of(value))
    return found


@resource_rule(
    "cost-region-allowlist",
    family="cost",
    description="Regional resources live in allowed regions (prices and GPU quota differ by region; buckets and secrets have their own residency rules).",
    severity=Severity.MEDIUM,
    remediation="Use a region from allowedRegions (gcp:region), or extend the stage's list.",
    types=[ANY_TYPE],
    applies_to="every resource with region, location, zone or locationId (not buckets, secrets, log buckets)",
    params={"allowedRegions": {"type": "array", "items": {"type": "string"},
                               "default": ["us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west4",
                                           "global", "us", "eu", "nam5", "eur3"],
                               "description": "allowed regions, multi-regions and 'global' (zones map to their region)"}},
    # Locations are often passed from another resource (location=service.location): re-checked at up.
    unknowns="skip",
)
def region_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type in LOCATION_EXEMPT or not resource.type.startswith("gcp:"):
        return
    allowed = {region.lower() for region in config_list(config, "allowedRegions")}
    for location in _locations(resource):
        if location not in allowed:
            yield Finding(f"region {location} is not allowed", f"use one of {', '.join(sorted(allowed))}")


@stack_rule(
    "cost-budget",
    family="cost",
    description="The stack declares a billing budget with alert thresholds.",
    severity=Severity.MEDIUM,
    remediation="Declare gcp.billing.Budget(amount=..., threshold_rules=[...]) for the project.",
    types=[t.BUDGET],
)
def budget(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    budgets = [r for r in resources if r.type == t.BUDGET]
    if not budgets:
        yield None, Finding("no billing budget", "declare a gcp.billing.Budget with threshold rules")
    for item in budgets:
        if not items(get(item.props, "thresholdRules")):
            yield item, Finding("the budget has no threshold rules, so it never alerts", "add threshold_rules")


@resource_rule(
    "cost-registry-cleanup",
    family="cost",
    description="Artifact Registry repositories run cleanup policies (not dry-run), so old images stop accruing storage.",
    severity=Severity.LOW,
    remediation="Set cleanup_policies (keep recent, delete untagged) and cleanup_policy_dry_run=False.",
    types=[t.REPOSITORY],
)
def registry_cleanup(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not items(get(resource.props, "cleanupPolicies")):
        yield Finding("no cleanup policies", "add cleanup_policies")
    elif flag(resource.props, "cleanupPolicyDryRun", default=False) is True:
        yield Finding("cleanup policies only run in dry-run mode", "set cleanup_policy_dry_run=False")
