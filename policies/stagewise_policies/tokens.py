"""Type tokens the pack matches (pulumi-gcp 10; irregular casing is the provider's own).

tests/test_policy_tokens.py asserts each exists in the installed pulumi-gcp.
"""

from __future__ import annotations

import re

BUCKET = "gcp:storage/bucket:Bucket"
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_JOB = "gcp:cloudrunv2/job:Job"
RUN_SERVICE_IAM_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
RUN_SERVICE_IAM_BINDING = "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding"
RUN_SERVICE_IAM_POLICY = "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
PROJECT_IAM_POLICY = "gcp:projects/iAMPolicy:IAMPolicy"
FOLDER_IAM_MEMBER = "gcp:folder/iAMMember:IAMMember"
FOLDER_IAM_BINDING = "gcp:folder/iAMBinding:IAMBinding"
FOLDER_IAM_POLICY = "gcp:folder/iAMPolicy:IAMPolicy"
ORG_IAM_MEMBER = "gcp:organizations/iAMMember:IAMMember"
ORG_IAM_BINDING = "gcp:organizations/iAMBinding:IAMBinding"
ORG_IAM_POLICY = "gcp:organizations/iAMPolicy:IAMPolicy"
BUCKET_ACLS = (
    "gcp:storage/bucketACL:BucketACL",
    "gcp:storage/defaultObjectACL:DefaultObjectACL",
    "gcp:storage/objectACL:ObjectACL",
    "gcp:storage/bucketAccessControl:BucketAccessControl",
    "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
    "gcp:storage/objectAccessControl:ObjectAccessControl",
)
FIRESTORE_DATABASE = "gcp:firestore/database:Database"
FIRESTORE_BACKUP_SCHEDULE = "gcp:firestore/backupSchedule:BackupSchedule"
SECRET = "gcp:secretmanager/secret:Secret"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
NETWORK = "gcp:compute/network:Network"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
INSTANCE = "gcp:compute/instance:Instance"
INSTANCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
REGION_INSTANCE_TEMPLATE = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"
MIG = "gcp:compute/instanceGroupManager:InstanceGroupManager"
REGION_MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
AUTOSCALER = "gcp:compute/autoscaler:Autoscaler"
REGION_AUTOSCALER = "gcp:compute/regionAutoscaler:RegionAutoscaler"
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
REGION_BACKEND_SERVICE = "gcp:compute/regionBackendService:RegionBackendService"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
TARGET_HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
REGION_TARGET_HTTPS_PROXY = "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
REGION_SSL_POLICY = "gcp:compute/regionSslPolicy:RegionSslPolicy"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
LOG_METRIC = "gcp:logging/metric:Metric"
PROJECT_SINK = "gcp:logging/projectSink:ProjectSink"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
VERTEX_ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
VERTEX_MODEL_GARDEN = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"
BUDGET = "gcp:billing/budget:Budget"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
INSTANCE_FROM_TEMPLATE = "gcp:compute/instanceFromTemplate:InstanceFromTemplate"
PROJECT_METADATA = "gcp:compute/projectMetadata:ProjectMetadata"
PROJECT_METADATA_ITEM = "gcp:compute/projectMetadataItem:ProjectMetadataItem"
RUN_V1_SERVICE = "gcp:cloudrun/service:Service"
MODEL_ARMOR_TEMPLATE = "gcp:modelarmor/template:Template"
RUN_V1_IAM_MEMBER = "gcp:cloudrun/iamMember:IamMember"
RUN_V1_IAM_BINDING = "gcp:cloudrun/iamBinding:IamBinding"
RUN_V1_IAM_POLICY = "gcp:cloudrun/iamPolicy:IamPolicy"
VERTEX_RESOURCE_POOL = "gcp:vertex/aiDeploymentResourcePool:AiDeploymentResourcePool"
NETWORK_FIREWALL_POLICY_RULE = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule"
REGION_NETWORK_FIREWALL_POLICY_RULE = "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule"
FIREWALL_POLICY_RULE = "gcp:compute/firewallPolicyRule:FirewallPolicyRule"
NETWORK_FIREWALL_POLICY_WITH_RULES = "gcp:compute/networkFirewallPolicyWithRules:NetworkFirewallPolicyWithRules"
REGION_NETWORK_FIREWALL_POLICY_WITH_RULES = "gcp:compute/regionNetworkFirewallPolicyWithRules:RegionNetworkFirewallPolicyWithRules"
FIREWALL_POLICY_WITH_RULES = "gcp:compute/firewallPolicyWithRules:FirewallPolicyWithRules"
PROJECT_CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
ORG_CUSTOM_ROLE = "gcp:organizations/iAMCustomRole:IAMCustomRole"
PROJECT_AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
FOLDER_AUDIT_CONFIG = "gcp:folder/iamAuditConfig:IamAuditConfig"
ORG_AUDIT_CONFIG = "gcp:organizations/iamAuditConfig:IamAuditConfig"
KMS_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
WIF_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
DISK = "gcp:compute/disk:Disk"
REGION_DISK = "gcp:compute/regionDisk:RegionDisk"
ROUTER = "gcp:compute/router:Router"
RESOURCE_POLICY = "gcp:compute/resourcePolicy:ResourcePolicy"

VM_LIKE = (INSTANCE, INSTANCE_TEMPLATE, REGION_INSTANCE_TEMPLATE)
TEMPLATES = (INSTANCE_TEMPLATE, REGION_INSTANCE_TEMPLATE)
# Every way to declare VMs: an InstanceFromTemplate takes whatever it does not set from its template.
VMS = (*VM_LIKE, INSTANCE_FROM_TEMPLATE)
RUN_SERVICES = (RUN_SERVICE, RUN_V1_SERVICE)
RUN_WORKLOADS = (RUN_SERVICE, RUN_JOB, RUN_V1_SERVICE)
FIREWALL_POLICY_RULES = (NETWORK_FIREWALL_POLICY_RULE, REGION_NETWORK_FIREWALL_POLICY_RULE, FIREWALL_POLICY_RULE)
FIREWALL_POLICIES_WITH_RULES = (
    NETWORK_FIREWALL_POLICY_WITH_RULES, REGION_NETWORK_FIREWALL_POLICY_WITH_RULES, FIREWALL_POLICY_WITH_RULES,
)
FIREWALLS = (FIREWALL, *FIREWALL_POLICY_RULES, *FIREWALL_POLICIES_WITH_RULES)
PROJECT_METADATA_TYPES = (PROJECT_METADATA, PROJECT_METADATA_ITEM)
CUSTOM_ROLES = (PROJECT_CUSTOM_ROLE, ORG_CUSTOM_ROLE)
AUDIT_CONFIGS = (PROJECT_AUDIT_CONFIG, FOLDER_AUDIT_CONFIG, ORG_AUDIT_CONFIG)
DISKS = (DISK, REGION_DISK)
MIGS = (MIG, REGION_MIG)
AUTOSCALERS = (AUTOSCALER, REGION_AUTOSCALER)
HTTPS_PROXIES = (TARGET_HTTPS_PROXY, REGION_TARGET_HTTPS_PROXY)
BACKEND_SERVICES = (BACKEND_SERVICE, REGION_BACKEND_SERVICE)
SSL_POLICIES = (SSL_POLICY, REGION_SSL_POLICY)
HIGH_LEVEL_MEMBERS = (PROJECT_IAM_MEMBER, FOLDER_IAM_MEMBER, ORG_IAM_MEMBER)
HIGH_LEVEL_BINDINGS = (PROJECT_IAM_BINDING, FOLDER_IAM_BINDING, ORG_IAM_BINDING)
HIGH_LEVEL_POLICIES = (PROJECT_IAM_POLICY, FOLDER_IAM_POLICY, ORG_IAM_POLICY)
HIGH_LEVEL_IAM = HIGH_LEVEL_MEMBERS + HIGH_LEVEL_BINDINGS + HIGH_LEVEL_POLICIES
RUN_INVOKER_IAM = (RUN_SERVICE_IAM_MEMBER, RUN_SERVICE_IAM_BINDING, RUN_SERVICE_IAM_POLICY,
                   RUN_V1_IAM_MEMBER, RUN_V1_IAM_BINDING, RUN_V1_IAM_POLICY)
# Everything that can hold GPUs: Cloud Run services and jobs, VMs and templates, Vertex AI deployments.
GPU_CAPABLE = (*RUN_WORKLOADS, *VMS, VERTEX_MODEL_GARDEN, VERTEX_RESOURCE_POOL)

# Every IAM member / binding / policy resource of every service follows one of these name shapes.
_IAM_MEMBER = re.compile(r"^gcp:[^:]+:\w*(IamMember|IAMMember)$")
_IAM_BINDING = re.compile(r"^gcp:[^:]+:\w*(IamBinding|IAMBinding)$")
_IAM_POLICY = re.compile(r"^gcp:[^:]+:\w*(IamPolicy|IAMPolicy)$")


def is_iam_member(token: str) -> bool:
    return bool(_IAM_MEMBER.match(token))


def is_iam_binding(token: str) -> bool:
    return bool(_IAM_BINDING.match(token))


def is_iam_policy(token: str) -> bool:
    return bool(_IAM_POLICY.match(token))


def is_iam(token: str) -> bool:
    return is_iam_member(token) or is_iam_binding(token) or is_iam_policy(token)


def short(token: str) -> str:
    return token.rsplit(":", 1)[-1]
