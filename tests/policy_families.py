"""The families of mistakes issue 16 saw, as the policy fixtures tag them.

A family is a set of rules (what must catch the mistake) or, for "types no rule reads", a set of
resource types (a verdict on one of them is the catch). A fixture (a Case of test_policy_evasions,
test_policy_new_rules or test_policy_family_gaps) names its families; tests/test_policy_family_parity.py
works out from the fixture's own run whether it fails or passes each family and whether it goes
through our components or raw pulumi_gcp resources, and asserts every family has all four.
"""

from __future__ import annotations

from dataclasses import dataclass

T_FIREWALL = "gcp:compute/firewall:Firewall"
T_POLICY_RULE = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule"
T_POLICY_WITH_RULES = "gcp:compute/networkFirewallPolicyWithRules:NetworkFirewallPolicyWithRules"
T_INSTANCE_FROM_TEMPLATE = "gcp:compute/instanceFromTemplate:InstanceFromTemplate"
T_PROJECT_METADATA = "gcp:compute/projectMetadata:ProjectMetadata"
T_PROJECT_METADATA_ITEM = "gcp:compute/projectMetadataItem:ProjectMetadataItem"
T_RUN_V1_SERVICE = "gcp:cloudrun/service:Service"
T_RUN_V1_IAM_MEMBER = "gcp:cloudrun/iamMember:IamMember"
T_RESOURCE_POOL = "gcp:vertex/aiDeploymentResourcePool:AiDeploymentResourcePool"
T_RUN_JOB = "gcp:cloudrunv2/job:Job"
T_MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"

GPU_RULES = frozenset({"compute-accelerator-allowlist", "compute-machine-type-allowlist", "cost-gpu-per-service", "cost-gpu-stack-total"})
# Rules that fail closed when a grant's role is unknown at preview (the firestore-export-exporter case).
GRANT_RULES = frozenset({"iam-no-basic-roles", "iam-sa-no-admin-roles", "iam-no-project-impersonation", "iam-people-no-admin-roles",
                         "iam-data-roles-resource-level"})


@dataclass(frozen=True)
class Family:
    title: str
    rules: frozenset[str] = frozenset()  # empty: any rule counts, on a resource of `types`
    types: frozenset[str] = frozenset()  # empty: the types the rules read


FAMILIES: dict[str, Family] = {
    # --- evasions of existing rules ---------------------------------------------------------------------------
    "open-ingress": Family("open ingress as split ranges", frozenset({"net-no-world-ingress"})),
    "all-ports": Family("every port as a range", frozenset({"net-no-allow-all-ports"})),
    "default-service-account": Family("a VM or service on the default compute account", frozenset({"iam-no-default-service-accounts"})),
    "bucket-class-label": Family("a near-miss bucket class label",
                                 frozenset({"storage-bucket-class-known", "storage-retention-minimum", "storage-retention-locked"})),
    "disabled-sink": Family("a disabled log sink counted as routing", frozenset({"obs-log-sink-retained"})),
    "gpus-machine-type": Family("GPUs that come with the machine type", GPU_RULES),
    "gpus-cloud-run-jobs": Family("GPUs from Cloud Run Jobs", GPU_RULES, frozenset({T_RUN_JOB})),
    "gpus-template-by-name": Family("GPUs from a template referenced by name", GPU_RULES | {"cost-gpu-uptime-guard"},
                                    frozenset({T_MIG, T_INSTANCE_FROM_TEMPLATE})),
    "run-manual-scaling": Family("Cloud Run manual scaling", frozenset({"cost-run-max-instances", "cost-run-min-instances"})),
    "plain-credentials": Family("credentials in args, a DSN or lower-case env names", frozenset({"run-secrets-from-secret-manager"})),
    # --- types no rule read -------------------------------------------------------------------------------------
    "type-instance-from-template": Family("InstanceFromTemplate", types=frozenset({T_INSTANCE_FROM_TEMPLATE})),
    "type-project-metadata": Family("project metadata (OS Login)", types=frozenset({T_PROJECT_METADATA, T_PROJECT_METADATA_ITEM})),
    "type-cloud-run-v1": Family("Cloud Run v1", types=frozenset({T_RUN_V1_SERVICE, T_RUN_V1_IAM_MEMBER})),
    "type-vertex-resource-pool": Family("Vertex resource pools", types=frozenset({T_RESOURCE_POOL})),
    "type-network-firewall-policy": Family("network firewall policy rules", types=frozenset({T_POLICY_RULE, T_POLICY_WITH_RULES})),
    # --- rules that did not exist -------------------------------------------------------------------------------------
    "people-admin-roles": Family("admin or owner-like roles to people", frozenset({"iam-people-no-admin-roles"})),
    "custom-role-breadth": Family("custom roles with broad permissions", frozenset({"iam-custom-role-least-privilege"})),
    "audit-config": Family("audit logging config", frozenset({"obs-audit-log-config", "obs-audit-logs-all-services"})),
    "disk-cmek": Family("CMEK on disks", frozenset({"compute-disk-cmek"})),
    "bucket-cmek": Family("CMEK on prod buckets", frozenset({"storage-cmek"})),
    "kms-rotation": Family("KMS key rotation", frozenset({"kms-key-rotation"})),
    "wif-condition": Family("the Workload Identity provider's attribute condition", frozenset({"iam-wif-attribute-condition"})),
    "gpu-uptime-guard": Family("a GPU VM with no uptime guard", frozenset({"cost-gpu-uptime-guard"})),
    "type-allowlist": Family("services a stage never needs (per-stage type allowlist)", frozenset({"cost-resource-type-allowlist"})),
    "allowed-domains": Family("members outside the allowed domains", frozenset({"iam-allowed-domains"})),
    "default-network": Family("resources on the default network", frozenset({"net-no-default-network"})),
    "preview-verifiable-grants": Family("grants that cannot be checked at preview (firestore-export-exporter)", GRANT_RULES),
}
