"""What each stage's deployer may do: the predefined roles `pulumi up` needs for the resource
types that stage declares, and nothing broader (no owner/editor/viewer).

`tests/test_bootstrap_roles.py` runs every stack offline and fails when a stack declares a type
this table doesn't cover, or grants a project role the deployer may not grant.
"""

from __future__ import annotations

# Resource type token -> the predefined role(s) that create, update and delete it.
TYPE_ROLES: dict[str, tuple[str, ...]] = {
    "gcp:projects/service:Service": ("roles/serviceusage.serviceUsageAdmin",),
    "gcp:projects/iAMMember:IAMMember": ("roles/resourcemanager.projectIamAdmin",),
    "gcp:projects/iAMCustomRole:IAMCustomRole": ("roles/iam.roleAdmin",),
    # An audit config is part of the project's IAM policy, written with projects.setIamPolicy as grants are:
    # https://pub.dev/documentation/pulumi_gcp/latest/projects/IAMAuditConfig-class.html
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": ("roles/resourcemanager.projectIamAdmin",),
    "gcp:projects/serviceIdentity:ServiceIdentity": ("roles/serviceusage.serviceUsageAdmin",),
    "gcp:cloudscheduler/job:Job": ("roles/cloudscheduler.admin", "roles/iam.serviceAccountUser"),
    "gcp:serviceaccount/account:Account": ("roles/iam.serviceAccountAdmin",),
    "gcp:serviceaccount/iAMMember:IAMMember": ("roles/iam.serviceAccountAdmin",),
    # Deploying a service or template that runs as a service account needs actAs on it.
    "gcp:cloudrunv2/service:Service": ("roles/run.admin", "roles/iam.serviceAccountUser"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("roles/run.admin",),
    "gcp:artifactregistry/repository:Repository": ("roles/artifactregistry.admin",),
    "docker:index/image:Image": ("roles/artifactregistry.admin",),
    "gcp:firestore/database:Database": ("roles/datastore.owner",),
    "gcp:firestore/field:Field": ("roles/datastore.owner",),
    "gcp:firestore/backupSchedule:BackupSchedule": ("roles/datastore.owner",),
    "gcp:storage/bucket:Bucket": ("roles/storage.admin",),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("roles/storage.admin",),
    "gcp:secretmanager/secret:Secret": ("roles/secretmanager.admin",),
    "gcp:secretmanager/secretVersion:SecretVersion": ("roles/secretmanager.admin",),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("roles/secretmanager.admin",),
    "gcp:logging/metric:Metric": ("roles/logging.configWriter",),
    "gcp:logging/projectSink:ProjectSink": ("roles/logging.configWriter",),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": ("roles/logging.configWriter",),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("roles/monitoring.editor",),
    "gcp:monitoring/notificationChannel:NotificationChannel": ("roles/monitoring.editor",),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": ("roles/monitoring.editor",),
    "gcp:monitoring/dashboard:Dashboard": ("roles/monitoring.editor",),
    "gcp:monitoring/genericService:GenericService": ("roles/monitoring.editor",),
    "gcp:monitoring/slo:Slo": ("roles/monitoring.editor",),
    "gcp:compute/network:Network": ("roles/compute.networkAdmin",),
    "gcp:compute/subnetwork:Subnetwork": ("roles/compute.networkAdmin",),
    "gcp:compute/router:Router": ("roles/compute.networkAdmin",),
    "gcp:compute/routerNat:RouterNat": ("roles/compute.networkAdmin",),
    "gcp:compute/address:Address": ("roles/compute.networkAdmin",),
    "gcp:compute/globalAddress:GlobalAddress": ("roles/compute.networkAdmin",),
    "gcp:compute/firewall:Firewall": ("roles/compute.securityAdmin",),
    "gcp:compute/securityPolicy:SecurityPolicy": ("roles/compute.securityAdmin",),
    "gcp:compute/sSLPolicy:SSLPolicy": ("roles/compute.securityAdmin",),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/healthCheck:HealthCheck": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/backendService:BackendService": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/regionBackendService:RegionBackendService": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/uRLMap:URLMap": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/forwardingRule:ForwardingRule": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": ("roles/compute.instanceAdmin.v1", "roles/iam.serviceAccountUser"),
    "gcp:compute/instanceTemplate:InstanceTemplate": ("roles/compute.instanceAdmin.v1", "roles/iam.serviceAccountUser"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": ("roles/compute.instanceAdmin.v1",),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": ("roles/compute.instanceAdmin.v1",),
    "gcp:servicenetworking/connection:Connection": ("roles/servicenetworking.networksAdmin",),
    "gcp:vpcaccess/connector:Connector": ("roles/vpcaccess.admin",),
    "gcp:vertex/aiEndpoint:AiEndpoint": ("roles/aiplatform.user",),
    "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment": ("roles/aiplatform.user",),
    # Budgets live on the billing account, not the project: granted there when configured.
    "gcp:billing/budget:Budget": ("roles/billing.costsManager",),
    # Managing Model Armor templates takes Model Armor Admin (https://docs.cloud.google.com/model-armor/manage-templates).
    "gcp:modelarmor/template:Template": ("roles/modelarmor.admin",),
    # An explicit provider (the budget's, with a quota project) is configuration, not a cloud resource.
    "pulumi:providers:gcp": (),
}

BILLING_ROLES = frozenset({"roles/billing.costsManager"})

_SERVERLESS = (
    "roles/serviceusage.serviceUsageAdmin", "roles/resourcemanager.projectIamAdmin", "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser", "roles/run.admin", "roles/artifactregistry.admin", "roles/datastore.owner",
    "roles/storage.admin", "roles/secretmanager.admin", "roles/logging.configWriter", "roles/aiplatform.user",
)
_NETWORKED = (
    "roles/monitoring.editor", "roles/compute.networkAdmin", "roles/compute.securityAdmin",
    "roles/compute.loadBalancerAdmin", "roles/compute.instanceAdmin.v1", "roles/servicenetworking.networksAdmin",
)

# Per stage: what its composition can declare (MVP is serverless only; staging adds the VPC, the
# internal load balancer and GPU VMs; prod adds the edge, monitoring, scheduled Firestore exports
# under a custom role, and a budget).
STAGE_ROLES: dict[str, tuple[str, ...]] = {
    "mvp": _SERVERLESS,
    # staging and prod declare a Model Armor template (stagewise:guardrails; the MVP has none unless a stack turns it on)
    "staging": _SERVERLESS + _NETWORKED + ("roles/modelarmor.admin",),
    "prod": _SERVERLESS + _NETWORKED + ("roles/cloudscheduler.admin", "roles/iam.roleAdmin", "roles/billing.costsManager",
                                        "roles/modelarmor.admin"),
}

# Project roles the stacks grant to their own runtime service accounts. The deployer's
# projectIamAdmin is conditioned on these, so it can't grant itself (or anyone) more.
GRANTABLE_ROLES: tuple[str, ...] = (
    "roles/aiplatform.user", "roles/artifactregistry.reader", "roles/cloudtrace.agent", "roles/datastore.user",
    "roles/logging.configWriter", "roles/logging.logWriter", "roles/logging.viewer", "roles/modelarmor.user", "roles/monitoring.editor",
    "roles/monitoring.metricWriter", "roles/monitoring.viewer", "roles/secretmanager.secretAccessor",
    "roles/storage.objectUser", "roles/storage.objectViewer",
)


# Custom roles the stacks define in their own project and grant (role ids).
GRANTABLE_CUSTOM_ROLE_IDS: tuple[str, ...] = ("firestoreExporter",)


def grantable_roles(project: str) -> tuple[str, ...]:
    """Everything a deployer may grant in ``project``: predefined roles plus the stacks' custom roles there."""
    return GRANTABLE_ROLES + tuple(f"projects/{project}/roles/{role_id}" for role_id in GRANTABLE_CUSTOM_ROLE_IDS)


def grant_condition_expression(roles: tuple[str, ...] = GRANTABLE_ROLES) -> str:
    """IAM condition limiting which roles a projectIamAdmin grant may add or remove."""
    listed = ", ".join(f"'{role}'" for role in sorted(roles))
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{listed}])"


def roles_for_types(types: set[str]) -> tuple[set[str], set[str]]:
    """(roles needed, types with no known role) for a set of declared type tokens."""
    needed: set[str] = set()
    unknown: set[str] = set()
    for type_token in types:
        if type_token in TYPE_ROLES:
            needed.update(TYPE_ROLES[type_token])
        else:
            unknown.add(type_token)
    return needed, unknown
