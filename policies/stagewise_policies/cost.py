"""Cost guardrails: scaling caps, GPU caps, what a stage may declare and where, and a budget."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from . import tokens as t
from .base import ANY_TYPE, Finding, Resource, resource_rule, stack_rule
from .compute import accelerator_requests, run_spec
from .props import config_int, config_list, flag, get, items, mapping, number, region_of, text

# Resources whose location is governed elsewhere (bucket and secret residency rules) or is not a region.
LOCATION_EXEMPT = (t.BUCKET, t.SECRET, t.LOG_BUCKET)
LOCATION_KEYS = ("region", "location", "zone", "locationId")


# Cloud Run v1 (Knative) takes scaling from revision annotations
# (https://pub.dev/documentation/pulumi_gcp/latest/cloudrun/GetServiceTemplateMetadata/annotations.html).
V1_MAX_SCALE = "autoscaling.knative.dev/maxScale"
V1_MIN_SCALE = "autoscaling.knative.dev/minScale"
V1_CPU_THROTTLING = "run.googleapis.com/cpu-throttling"
RUN_DEFAULT_MAX = 100.0


def _annotation(resource: Resource, key: str) -> Any:
    return mapping(get(resource.props, "template.metadata.annotations")).get(key)


def run_scaling(resource: Resource) -> tuple[float | None, float]:
    """(max instances, min instances) of a Cloud Run service as Cloud Run will run it.

    v2: template and service-level scaling; in MANUAL mode the service runs exactly its manual
    instance count (or its minimum) and ignores max ("Scale to exactly min instances and ignore max
    instances", https://documentation.s3ns.fr/dotnet/docs/reference/Google.Cloud.Run.V2/latest/Google.Cloud.Run.V2.ServiceScaling.Types.ScalingMode;
    manual_instance_count is the "Total instance count for the service in manual scaling mode", pulumi-gcp).
    v1: the maxScale/minScale annotations of the revision template."""
    if resource.type == t.RUN_V1_SERVICE:
        return number(_annotation(resource, V1_MAX_SCALE)), number(_annotation(resource, V1_MIN_SCALE)) or 0.0
    maximum = number(resource.props, "template.scaling.maxInstanceCount")
    service_max = number(resource.props, "scaling.maxInstanceCount")
    if service_max is not None:
        maximum = service_max if maximum is None else min(maximum, service_max)
    minimum = max(number(resource.props, "template.scaling.minInstanceCount") or 0.0,
                  number(resource.props, "scaling.minInstanceCount") or 0.0)
    if text(resource.props, "scaling.scalingMode").upper() == "MANUAL":
        manual = number(resource.props, "scaling.manualInstanceCount")
        count = manual if manual is not None else minimum
        return count, count
    return maximum, minimum


def job_parallel_tasks(resource: Resource) -> float:
    """Tasks a Cloud Run job execution runs at once: parallelism, "if this field is 0 or unset, the maximum
    possible value", and at most taskCount (default 1) (pulumi-gcp JobTemplateArgs.parallelism)."""
    tasks = number(resource.props, "template.taskCount") or 1.0
    parallel = number(resource.props, "template.parallelism") or 0.0
    return min(parallel, tasks) if parallel > 0 else tasks


@resource_rule(
    "cost-run-max-instances",
    family="cost",
    description="Cloud Run services set max instances, at or under the stage cap (a runaway scale-out is the biggest bill risk).",
    severity=Severity.HIGH,
    remediation="Set template.scaling.max_instance_count (stagewise:service maxInstances) at or under maxInstances.",
    types=t.RUN_SERVICES,
    applies_to="Cloud Run services (v2 and v1; manual scaling counts its instance count)",
    params={"maxInstances": {"type": "integer", "minimum": 1, "default": 20, "description": "highest max instances per service"}},
)
def run_max_instances(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxInstances")
    maximum, _ = run_scaling(resource)
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
    types=t.RUN_SERVICES,
    applies_to="Cloud Run services (v2 and v1; manual scaling keeps its whole instance count on)",
    params={"maxMinInstances": {"type": "integer", "minimum": 0, "default": 0, "description": "highest min instances per service"}},
)
def run_min_instances(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    cap = config_int(config, "maxMinInstances")
    _, minimum = run_scaling(resource)
    if minimum > cap:
        yield Finding(f"keeps {minimum:g} instances always on, over the stage's {cap}", f"set min_instance_count to at most {cap}")


@resource_rule(
    "cost-run-cpu-throttling",
    family="cost",
    description="Outside prod, Cloud Run bills CPU only during requests (cpu_idle on): always-allocated CPU is billed around the clock.",
    severity=Severity.LOW,
    remediation="Set resources.cpu_idle=True (stagewise:service cpuIdle) unless background work needs CPU between requests.",
    types=t.RUN_SERVICES,
)
def run_cpu_throttling(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type == t.RUN_V1_SERVICE:
        if str(_annotation(resource, V1_CPU_THROTTLING)).lower() == "false":
            yield Finding("CPU is always allocated (run.googleapis.com/cpu-throttling false)", "remove the annotation or set it true")
        return
    for index, container in enumerate(items(get(resource.props, "template.containers"))):
        if flag(container, "resources.cpuIdle", default=True) is False:
            yield Finding(f"container {index} has CPU always allocated", "set resources.cpu_idle=True")


GPU_SERVICES = (*t.RUN_WORKLOADS, t.VERTEX_MODEL_GARDEN, t.VERTEX_RESOURCE_POOL)


@resource_rule(
    "cost-gpu-per-service",
    family="cost",
    description="GPUs a single Cloud Run service or job, or Vertex AI deployment or resource pool, can hold at full scale stay within maxGpusPerService.",
    severity=Severity.HIGH,
    remediation="Lower max instances/replicas/parallel tasks or GPUs per instance so that their product is within maxGpusPerService.",
    types=GPU_SERVICES,
    applies_to="Cloud Run services (v1 and v2) and jobs, Vertex AI Model Garden deployments and deployment resource pools",
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
    if resource.type in t.RUN_SERVICES:
        maximum, _ = run_scaling(resource)
        return per_instance * (maximum if maximum is not None else RUN_DEFAULT_MAX)
    if resource.type == t.RUN_JOB:
        return per_instance * job_parallel_tasks(resource)
    if resource.type in (t.VERTEX_MODEL_GARDEN, t.VERTEX_RESOURCE_POOL):
        path = "deployConfig.dedicatedResources" if resource.type == t.VERTEX_MODEL_GARDEN else "dedicatedResources"
        resources = get(resource.props, path)
        replicas = number(resources, "maxReplicaCount") or number(resources, "minReplicaCount") or 1.0
        return per_instance * replicas
    return per_instance


def _autoscaler_for(mig: Resource, autoscalers: list[Resource]) -> Resource | None:
    for autoscaler in autoscalers:
        if mig in autoscaler.property_dependencies.get("target", ()) or _refers(text(autoscaler.props, "target"), mig):
            return autoscaler
    return None


def _mig_size(mig: Resource, autoscalers: list[Resource]) -> float:
    autoscaler = _autoscaler_for(mig, autoscalers)
    if autoscaler is not None:
        return number(autoscaler.props, "autoscalingPolicy.maxReplicas") or 0.0
    return number(mig.props, "targetSize") or 0.0


def _refers(reference: str, resource: Resource) -> bool:
    """A reference string names ``resource``: its self link, id or name (a URL ending in its name counts)."""
    if not reference:
        return False
    names = {text(resource.props, key) for key in ("selfLink", "selfLinkUnique", "id", "name")} - {""}
    return reference in names or reference.rstrip("/").rsplit("/", 1)[-1] == text(resource.props, "name")


def template_references(resource: Resource) -> list[str]:
    """The instance templates a MIG's versions or a VM-from-template name."""
    if resource.type == t.INSTANCE_FROM_TEMPLATE:
        return [text(resource.props, "sourceInstanceTemplate")]
    return [text(version, "instanceTemplate") for version in items(get(resource.props, "versions"))] + [
        text(resource.props, "instanceTemplate")]


def templates_of(resource: Resource, templates: list[Resource]) -> list[Resource] | None:
    """The templates ``resource`` runs, found by reference (name, self link, id) or by its dependency on
    them; None when it names a template the stack does not declare."""
    references = [reference for reference in template_references(resource) if reference]
    found = [template for template in templates if any(_refers(reference, template) for reference in references)]
    if found:
        return found
    key = "sourceInstanceTemplate" if resource.type == t.INSTANCE_FROM_TEMPLATE else "versions"
    by_dependency = [d for d in resource.property_dependencies.get(key, ()) if d.type in t.TEMPLATES]
    by_dependency = by_dependency or [d for d in resource.dependencies if d.type in t.TEMPLATES]
    return by_dependency or None


def _vm_gpus(resource: Resource, templates: list[Resource]) -> float | None:
    """GPUs of one VM of a MIG or one VM from a template (None: its template is not in the stack)."""
    if resource.type == t.INSTANCE_FROM_TEMPLATE and (get(resource.props, "machineType") is not None
                                                      or get(resource.props, "guestAccelerators") is not None):
        return gpu_at_full_scale(resource)
    used = templates_of(resource, templates)
    if used is None:
        return None
    return max(gpu_at_full_scale(template) for template in used)


@stack_rule(
    "cost-gpu-stack-total",
    family="cost",
    description="All GPUs the stack can scale to (Cloud Run services and jobs, VMs, VMs from templates, instance groups at max size, "
                "Vertex AI deployments and resource pools) stay within maxTotalGpus; templates are found by reference as well as by dependency.",
    severity=Severity.HIGH,
    remediation="Lower replica/instance caps or GPUs per instance, or raise maxTotalGpus after checking quota and budget; "
                "declare the instance templates your groups and VMs use in the stack.",
    types=[*GPU_SERVICES, *t.VMS, *t.MIGS, *t.AUTOSCALERS],
    params={"maxTotalGpus": {"type": "integer", "minimum": 0, "default": 8, "description": "GPUs the whole stack may scale to"}},
)
def gpu_stack_total(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    cap = config_int(config, "maxTotalGpus")
    autoscalers = [r for r in resources if r.type in t.AUTOSCALERS]
    templates = [r for r in resources if r.type in t.TEMPLATES]
    total = 0.0
    for resource in resources:
        if resource.type in (*GPU_SERVICES, t.INSTANCE):
            total += gpu_at_full_scale(resource)
        elif resource.type in (*t.MIGS, t.INSTANCE_FROM_TEMPLATE):
            per_vm = _vm_gpus(resource, templates)
            if per_vm is None:
                yield resource, Finding("its instance template is not declared in this stack, so its GPUs cannot be counted",
                                        "declare the template in the stack and reference it (self_link)")
                continue
            total += per_vm * (_mig_size(resource, autoscalers) if resource.type in t.MIGS else 1.0)
    if total > cap:
        yield None, Finding(f"the stack can scale to {total:g} GPUs, over the cap of {cap}", "lower instance or replica caps")


def _bounded_runtime(resource: Resource) -> bool:
    """A VM that stops or is deleted on its own: a run duration or termination time
    (https://cloud.google.com/compute/docs/instances/limit-vm-runtime; for MIGs, in the template:
    https://cloud.google.com/compute/docs/instance-groups/limit-vm-runtime-in-migs)."""
    return bool(get(resource.props, "scheduling.maxRunDuration") is not None or text(resource.props, "scheduling.terminationTime"))


def _schedules_to_zero(autoscaler: Resource | None) -> bool:
    """An autoscaler whose floor is 0 and whose schedules raise it only in working hours: a scaling
    schedule "changes the minimum number of VM instances an autoscaler can recommend"
    (https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Compute.V1/latest/Google.Cloud.Compute.V1.AutoscalingPolicyScalingSchedule)."""
    if autoscaler is None:
        return False
    policy = get(autoscaler.props, "autoscalingPolicy")
    live = [s for s in items(get(policy, "scalingSchedules")) if flag(s, "disabled") is not True]
    return (number(policy, "minReplicas") or 0.0) == 0 and bool(live)


def _instance_schedule(resource: Resource, policies: list[Resource]) -> bool:
    """Attached resource policies include an instance start/stop schedule (or one not declared here)."""
    attached = [text(ref) for ref in items(get(resource.props, "resourcePolicies"))]
    for reference in (r for r in attached if r):
        declared = [p for p in policies if _refers(reference, p)]
        if not declared or any(get(p.props, "instanceSchedulePolicy") is not None for p in declared):
            return True
    return False


@stack_rule(
    "cost-gpu-uptime-guard",
    family="cost",
    description="Every GPU VM has something that ends its uptime: a run duration or termination time, an instance schedule, "
                "or (instance groups) an autoscaler that scales to zero outside its scaling schedules.",
    severity=Severity.MEDIUM,
    remediation="Set scheduling.max_run_duration (and instance_termination_action) on the VM or template, attach an instance schedule "
                "resource policy, or give the group's autoscaler min_replicas=0 with working-hours scaling_schedules (stagewise:inference schedule).",
    types=[*t.VMS, *t.MIGS, *t.AUTOSCALERS, t.RESOURCE_POLICY],
)
def gpu_uptime_guard(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    autoscalers = [r for r in resources if r.type in t.AUTOSCALERS]
    templates = [r for r in resources if r.type in t.TEMPLATES]
    policies = [r for r in resources if r.type == t.RESOURCE_POLICY]
    for resource in resources:
        if resource.type == t.INSTANCE:
            if gpu_at_full_scale(resource) and not (_bounded_runtime(resource) or _instance_schedule(resource, policies)):
                yield resource, Finding("a GPU VM runs until someone stops it", "bound its runtime or attach an instance schedule")
        elif resource.type == t.INSTANCE_FROM_TEMPLATE:
            if not _vm_gpus(resource, templates):
                continue
            candidates = [resource, *(templates_of(resource, templates) or [])]
            if not any(_bounded_runtime(c) or _instance_schedule(c, policies) for c in candidates):
                yield resource, Finding("a GPU VM runs until someone stops it", "bound its runtime or attach an instance schedule")
        elif resource.type in t.MIGS:
            gpu = [template for template in templates_of(resource, templates) or [] if gpu_at_full_scale(template)]
            if not gpu or any(_bounded_runtime(template) for template in gpu):
                continue
            autoscaler = _autoscaler_for(resource, autoscalers)
            idle = autoscaler is None and (number(resource.props, "targetSize") or 0.0) == 0
            if not (idle or _schedules_to_zero(autoscaler)):
                yield resource, Finding("the GPU instance group keeps VMs running around the clock",
                                        "scale it to zero outside working hours or bound each VM's runtime")


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


@resource_rule(
    "cost-resource-type-allowlist",
    family="cost",
    description="A stage declares only the resource types its composition declares (allowedTypes, generated from the stage's "
                "programs) plus the stage's deliberate extras (extraTypes), so a new service (Cloud Functions, GKE, Cloud SQL, "
                "BigQuery…) needs a deliberate change; an empty allowedTypes turns the rule off.",
    severity=Severity.HIGH,
    remediation="If the stage needs the type, add it to the composition and regenerate the allowlists "
                "(`uv run python -m stagewise.policy.allowlist --write`), or list it in the stage's extraTypes with a reason.",
    types=[ANY_TYPE],
    applies_to="every resource (not providers, the stack or component resources)",
    params={
        "allowedTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                         "description": "type tokens (glob patterns allowed) the stage's composition declares; empty: rule off"},
        "extraTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                       "description": "type tokens (glob patterns) allowed on top, added by hand with a reason"},
        "ignoredPackages": {"type": "array", "items": {"type": "string"}, "default": ["pulumi", "stagewise"],
                            "description": "packages whose types are not cloud resources (providers, the stack, components)"},
        "projectTypes": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}, "default": {},
                         "description": "Pulumi project -> its own allowedTypes, for another program checked with this config "
                                        "(the bootstrap, whose config is prod's)"},
    },
)
def resource_type_allowlist(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    project = resource.urn.split("::")[1] if resource.urn.count("::") >= 3 else ""
    by_project = mapping(config.get("projectTypes"))
    allowed = [str(item) for item in items(by_project[project])] if project in by_project else config_list(config, "allowedTypes")
    if not allowed or resource.type.split(":", 1)[0] in config_list(config, "ignoredPackages"):
        return
    patterns = allowed + config_list(config, "extraTypes")
    if not any(fnmatch.fnmatchcase(resource.type, pattern) for pattern in patterns):
        yield Finding(f"{resource.type} is not a type this stage's composition declares",
                      "declare it in the stage's composition (and regenerate the allowlist) or add it to extraTypes with a reason")


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
