"""API enablement: every resource needs the API that serves it enabled, before it is created."""

from __future__ import annotations

from collections.abc import Iterator

from stagewise.readiness.inventory import Inventory, Resource
from stagewise.readiness.model import BLOCKS, RISK, Problem
from stagewise.readiness.rules import rule, stack_rule

# APIs a project created with the console or gcloud has on from the start
# (https://cloud.google.com/service-usage/docs/enabled-service#default).
DEFAULT_ENABLED = frozenset({
    "analyticshub.googleapis.com", "bigquery.googleapis.com", "bigqueryconnection.googleapis.com",
    "bigquerydatapolicy.googleapis.com", "bigquerydatatransfer.googleapis.com", "bigquerymigration.googleapis.com",
    "bigqueryreservation.googleapis.com", "bigquerystorage.googleapis.com", "datastore.googleapis.com",
    "dataform.googleapis.com", "dataplex.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com",
    "sql-component.googleapis.com", "storage.googleapis.com", "storage-api.googleapis.com",
    "storage-component.googleapis.com", "cloudtrace.googleapis.com", "cloudapis.googleapis.com",
    "servicemanagement.googleapis.com", "serviceusage.googleapis.com",
})

# pulumi-gcp module (the token's middle part before "/") → the API that serves its resources.
API_OF_MODULE: dict[str, str] = {
    "cloudrunv2": "run.googleapis.com",
    "cloudrun": "run.googleapis.com",
    "storage": "storage.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
    "firestore": "firestore.googleapis.com",
    "compute": "compute.googleapis.com",
    "monitoring": "monitoring.googleapis.com",
    "logging": "logging.googleapis.com",
    "artifactregistry": "artifactregistry.googleapis.com",
    "vertex": "aiplatform.googleapis.com",
    "cloudscheduler": "cloudscheduler.googleapis.com",
    "kms": "cloudkms.googleapis.com",
    "serviceaccount": "iam.googleapis.com",
    "iam": "iam.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "vpcaccess": "vpcaccess.googleapis.com",
    "modelarmor": "modelarmor.googleapis.com",
    "redis": "redis.googleapis.com",
    "memorystore": "memorystore.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
    "bigquery": "bigquery.googleapis.com",
    "sql": "sqladmin.googleapis.com",
    "dns": "dns.googleapis.com",
    "certificatemanager": "certificatemanager.googleapis.com",
    "cloudfunctionsv2": "cloudfunctions.googleapis.com",
    "container": "container.googleapis.com",
    "cloudtasks": "cloudtasks.googleapis.com",
    "billing": "billingbudgets.googleapis.com",
}
# Types within a module served by another API.
API_OF_TYPE: dict[str, str | None] = {
    "gcp:projects/iAMCustomRole:IAMCustomRole": "iam.googleapis.com",
    # Budgets live on the billing account; the API is enabled in the project that pays for the calls.
    "gcp:billing/budget:Budget": "billingbudgets.googleapis.com",
    "gcp:billing/accountIamMember:AccountIamMember": None,
    "gcp:billing/projectInfo:ProjectInfo": None,
}


def api_of(type_token: str) -> str | None:
    if type_token in API_OF_TYPE:
        return API_OF_TYPE[type_token]
    if not type_token.startswith("gcp:"):
        return None
    module = type_token.split(":", 2)[1].split("/", 1)[0]
    return API_OF_MODULE.get(module)


def _enablers(inventory: Inventory) -> dict[tuple[str, str], Resource]:
    found: dict[tuple[str, str], Resource] = {}
    for service in inventory.of_type("gcp:projects/service:Service"):
        name = service.get("service")
        if isinstance(name, str):
            found[(inventory.project_of(service), name)] = service
    return found


@stack_rule(
    "api-not-enabled", severity=BLOCKS, types=("gcp:projects/service:Service",),
    title="a resource's API is neither on by default nor enabled by the program",
    source="https://cloud.google.com/service-usage/docs/enabled-service#default",
)
def api_not_enabled(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    enablers = _enablers(inventory)
    reported: set[tuple[str, str]] = set()
    for resource in inventory.resources:
        api = api_of(resource.type)
        project = inventory.project_of(resource)
        if api is None or api in DEFAULT_ENABLED or (project, api) in enablers or (project, api) in reported:
            continue
        reported.add((project, api))
        yield resource, Problem(
            "type", f"{api} is off in a new project and nothing in the program enables it, so creating {resource.name} fails "
            "with SERVICE_DISABLED",
            f"declare gcp.projects.Service(service={api!r}) and make {resource.name} depend on it",
        )


@stack_rule(
    "api-enabled-after-use", severity=BLOCKS, types=("gcp:projects/service:Service",),
    title="a resource does not wait for the enablement of its API",
    source="https://cloud.google.com/service-usage/docs/enable-disable",
)
def api_enabled_after_use(inventory: Inventory) -> Iterator[tuple[Resource | None, Problem]]:
    enablers = _enablers(inventory)
    for resource in inventory.resources:
        api = api_of(resource.type)
        if api is None:
            continue
        enabler = enablers.get((inventory.project_of(resource), api))
        if enabler is None or enabler.urn == resource.urn or inventory.waits_for(resource, enabler):
            continue
        yield resource, Problem(
            "dependsOn", f"{resource.name} needs {api}, which {enabler.name} enables, but does not depend on it: on a first "
            "deploy the engine creates both at once and the API is still off",
            f"add depends_on=[{enabler.name}] (for a component, pass it to every child)",
        )


@rule(
    "api-disabled-on-destroy", types=("gcp:projects/service:Service",), severity=RISK,
    title="destroying the stack disables an API other workloads in the project may use",
    source="https://www.pulumi.com/registry/packages/gcp/api-docs/projects/service/",
)
def api_disabled_on_destroy(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    if resource.get("disableOnDestroy", True) is not False:
        yield Problem(
            "disableOnDestroy", f"{resource.name} leaves disableOnDestroy at its default (true): a destroy turns "
            f"{resource.get('service')} off for the whole project",
            "set disable_on_destroy=False",
        )
