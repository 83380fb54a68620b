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

VM_LIKE = (INSTANCE, INSTANCE_TEMPLATE, REGION_INSTANCE_TEMPLATE)
MIGS = (MIG, REGION_MIG)
AUTOSCALERS = (AUTOSCALER, REGION_AUTOSCALER)
HTTPS_PROXIES = (TARGET_HTTPS_PROXY, REGION_TARGET_HTTPS_PROXY)
BACKEND_SERVICES = (BACKEND_SERVICE, REGION_BACKEND_SERVICE)
SSL_POLICIES = (SSL_POLICY, REGION_SSL_POLICY)
HIGH_LEVEL_MEMBERS = (PROJECT_IAM_MEMBER, FOLDER_IAM_MEMBER, ORG_IAM_MEMBER)
HIGH_LEVEL_BINDINGS = (PROJECT_IAM_BINDING, FOLDER_IAM_BINDING, ORG_IAM_BINDING)
HIGH_LEVEL_POLICIES = (PROJECT_IAM_POLICY, FOLDER_IAM_POLICY, ORG_IAM_POLICY)
HIGH_LEVEL_IAM = HIGH_LEVEL_MEMBERS + HIGH_LEVEL_BINDINGS + HIGH_LEVEL_POLICIES
RUN_INVOKER_IAM = (RUN_SERVICE_IAM_MEMBER, RUN_SERVICE_IAM_BINDING, RUN_SERVICE_IAM_POLICY)
# Resources a MIG's or VM's instances may come from, for GPU totals.
GPU_CAPABLE = (RUN_SERVICE, *VM_LIKE, VERTEX_MODEL_GARDEN)

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
