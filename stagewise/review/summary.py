"""One line of key settings per resource, for the review's tree view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stagewise.engine.props import lookup

# camelCase paths (dot-separated, [0] for the first list item) worth a glance, by type token.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "gcp:cloudrunv2/service:Service": (
        "location", "ingress", "template.scaling.minInstanceCount", "template.scaling.maxInstanceCount",
        "template.maxInstanceRequestConcurrency", "template.containers[0].resources.limits", "deletionProtection",
        "defaultUriDisabled", "template.vpcAccess.egress",
    ),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("role", "member"),
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:projects/iAMMember:IAMMember": ("role", "member", "condition.title"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("role", "member"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secretId", "role", "member"),
    "gcp:storage/bucket:Bucket": (
        "location", "publicAccessPrevention", "uniformBucketLevelAccess", "versioning.enabled",
        "retentionPolicy.retentionPeriod", "forceDestroy", "labels.bucket-class",
    ),
    "gcp:firestore/database:Database": ("name", "locationId", "type", "pointInTimeRecoveryEnablement", "deleteProtectionState"),
    "gcp:firestore/backupSchedule:BackupSchedule": ("retention",),
    "gcp:firestore/field:Field": ("collection", "field"),
    "gcp:projects/service:Service": ("service",),
    "gcp:artifactregistry/repository:Repository": ("location", "format", "repositoryId"),
    "gcp:logging/metric:Metric": ("filter",),
    "docker:index/image:Image": ("imageName",),
    "gcp:compute/network:Network": ("autoCreateSubnetworks", "routingMode"),
    "gcp:compute/subnetwork:Subnetwork": ("region", "ipCidrRange", "privateIpGoogleAccess"),
    "gcp:compute/firewall:Firewall": ("direction", "priority", "sourceRanges", "targetTags"),
    "gcp:compute/routerNat:RouterNat": ("region", "logConfig.enable"),
    "gcp:compute/backendService:BackendService": ("loadBalancingScheme", "protocol", "logConfig.enable"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("loadBalancingScheme", "portRange"),
    "gcp:compute/forwardingRule:ForwardingRule": ("region", "loadBalancingScheme", "ports"),
    "gcp:compute/sSLPolicy:SSLPolicy": ("profile", "minTlsVersion"),
    "gcp:compute/securityPolicy:SecurityPolicy": ("type", "adaptiveProtectionConfig.layer7DdosDefenseConfig.enable"),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": ("region", "networkEndpointType"),
    "gcp:compute/instanceTemplate:InstanceTemplate": ("machineType", "scheduling.provisioningModel"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": ("region", "targetSize"),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": ("autoscalingPolicy.minReplicas", "autoscalingPolicy.maxReplicas"),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("displayName", "severity"),
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": ("displayName", "period"),
    "gcp:logging/projectSink:ProjectSink": ("destination", "uniqueWriterIdentity"),
    # a partner key limited to source ranges (stagewise/stacks/partner_ranges.py) shows them next to its id
    "gcp:secretmanager/secret:Secret": ("secretId", "annotations.stagewise-allowed-cidrs"),
}

# Leaf names too generic to stand alone in a one-line summary: shown with their parent (versioning.enabled).
GENERIC_LEAVES = frozenset({"enabled", "enable", "minReplicas", "maxReplicas"})


def key_settings(type_token: str, props: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in KEY_SETTINGS.get(type_token, ()):
        value = lookup(props, path)
        if value is not None:
            parts = path.replace("[0]", "").split(".")
            label = ".".join(parts[-2:]) if parts[-1] in GENERIC_LEAVES and len(parts) > 1 else parts[-1]
            found[label] = value
    return found


def format_settings(settings: Mapping[str, Any]) -> str:
    parts = []
    for key, value in settings.items():
        text = ",".join(f"{k}={_scalar(v)}" for k, v in value.items()) if isinstance(value, Mapping) else _scalar(value)
        if len(text) > 60:
            text = text[:57] + "..."
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _scalar(value: Any) -> str:
    # The engine carries every number as a float; show whole numbers as integers.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
