"""stagewise's reusable Pulumi components: `from stagewise.components import ChatService, BucketSet`.

Each name is imported on first use (PEP 562 module ``__getattr__``), so importing one component, or the
config models that only need ``stagewise.components.limits``, does not load every provider module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE: dict[str, str] = {
    "Guardrails": "guardrails",
    "GuardrailsArgs": "guardrails",
    "ProjectAuditLogs": "audit_logs",
    "ProjectAuditLogsArgs": "audit_logs",
    "SlackChannel": "alerting",
    "PagerDutyChannel": "alerting",
    "Thresholds": "alerting",
    "InferenceSignals": "alerting",
    "AlertingArgs": "alerting",
    "Alerting": "alerting",
    "ProjectServicesArgs": "apis",
    "ProjectServices": "apis",
    "BucketSpec": "buckets",
    "BucketSetArgs": "buckets",
    "BucketSet": "buckets",
    "BillingBudgetArgs": "budget",
    "BillingBudget": "budget",
    "VpcEgress": "chat_service",
    "TrafficSplit": "chat_service",
    "ChatServiceArgs": "chat_service",
    "ChatService": "chat_service",
    "ServerlessTarget": "edge",
    "EdgeBackend": "edge",
    "RateLimit": "edge",
    "ArmorSettings": "edge",
    "EdgeLoadBalancerArgs": "edge",
    "EdgeLoadBalancer": "edge",
    "FirestoreDatabaseArgs": "firestore",
    "FirestoreDatabase": "firestore",
    "ProjectRole": "iam",
    "BucketRole": "iam",
    "SecretRole": "iam",
    "GeminiFallback": "inference",
    "ManagedModel": "inference",
    "VertexModelGarden": "inference",
    "PrivateNetwork": "inference",
    "WorkingHours": "inference",
    "GpuVmPool": "inference",
    "CloudRunGpu": "inference",
    "InferenceEndpointArgs": "inference",
    "InferenceEndpoint": "inference",
    "ErrorLogMetricArgs": "log_metrics",
    "ErrorLogMetric": "log_metrics",
    "LogSinkArgs": "log_sink",
    "LogSink": "log_sink",
    "BuildFromSource": "registry",
    "ExternalImage": "registry",
    "ContainerImageArgs": "registry",
    "ContainerImage": "registry",
    "SecretSetArgs": "secrets",
    "SourceRefusalMetric": "source_refusals",
    "SourceRefusalMetricArgs": "source_refusals",
    "SecretSet": "secrets",
    "SubnetSpec": "vpc",
    "InternalAllow": "vpc",
    "VpcNetworkArgs": "vpc",
    "VpcNetwork": "vpc",
}

__all__ = [
    "Guardrails",
    "GuardrailsArgs",
    "ProjectAuditLogs",
    "ProjectAuditLogsArgs",
    "Alerting",
    "AlertingArgs",
    "ArmorSettings",
    "BillingBudget",
    "BillingBudgetArgs",
    "BucketRole",
    "BucketSet",
    "BucketSetArgs",
    "BucketSpec",
    "BuildFromSource",
    "ChatService",
    "ChatServiceArgs",
    "CloudRunGpu",
    "ContainerImage",
    "ContainerImageArgs",
    "EdgeBackend",
    "EdgeLoadBalancer",
    "EdgeLoadBalancerArgs",
    "ErrorLogMetric",
    "ErrorLogMetricArgs",
    "ExternalImage",
    "FirestoreDatabase",
    "FirestoreDatabaseArgs",
    "GeminiFallback",
    "GpuVmPool",
    "InferenceEndpoint",
    "InferenceEndpointArgs",
    "InferenceSignals",
    "InternalAllow",
    "LogSink",
    "LogSinkArgs",
    "ManagedModel",
    "PagerDutyChannel",
    "PrivateNetwork",
    "ProjectRole",
    "ProjectServices",
    "ProjectServicesArgs",
    "RateLimit",
    "SecretRole",
    "SecretSet",
    "SecretSetArgs",
    "SourceRefusalMetric",
    "SourceRefusalMetricArgs",
    "ServerlessTarget",
    "SlackChannel",
    "SubnetSpec",
    "Thresholds",
    "TrafficSplit",
    "VertexModelGarden",
    "VpcEgress",
    "VpcNetwork",
    "VpcNetworkArgs",
    "WorkingHours",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'stagewise.components' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from stagewise.components.guardrails import Guardrails, GuardrailsArgs
    from stagewise.components.audit_logs import ProjectAuditLogs, ProjectAuditLogsArgs
    from stagewise.components.alerting import SlackChannel, PagerDutyChannel, Thresholds, InferenceSignals, AlertingArgs, Alerting
    from stagewise.components.apis import ProjectServicesArgs, ProjectServices
    from stagewise.components.buckets import BucketSpec, BucketSetArgs, BucketSet
    from stagewise.components.budget import BillingBudgetArgs, BillingBudget
    from stagewise.components.chat_service import VpcEgress, TrafficSplit, ChatServiceArgs, ChatService
    from stagewise.components.edge import ServerlessTarget, EdgeBackend, RateLimit, ArmorSettings, EdgeLoadBalancerArgs, EdgeLoadBalancer
    from stagewise.components.firestore import FirestoreDatabaseArgs, FirestoreDatabase
    from stagewise.components.iam import ProjectRole, BucketRole, SecretRole
    from stagewise.components.inference import GeminiFallback, ManagedModel, VertexModelGarden, PrivateNetwork, WorkingHours, GpuVmPool, CloudRunGpu, InferenceEndpointArgs, InferenceEndpoint
    from stagewise.components.log_metrics import ErrorLogMetricArgs, ErrorLogMetric
    from stagewise.components.log_sink import LogSinkArgs, LogSink
    from stagewise.components.registry import BuildFromSource, ExternalImage, ContainerImageArgs, ContainerImage
    from stagewise.components.secrets import SecretSetArgs, SecretSet
    from stagewise.components.source_refusals import SourceRefusalMetric, SourceRefusalMetricArgs
    from stagewise.components.vpc import SubnetSpec, InternalAllow, VpcNetworkArgs, VpcNetwork
