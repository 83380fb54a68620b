"""stagewise's reusable Pulumi components: `from stagewise.components import ChatService, BucketSet`.

Each name is imported on first use (PEP 562 module ``__getattr__``), so importing one component, or the
config models that only need ``stagewise.components.limits``, does not load every provider module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stagewise.components.lazy import lazy_exports

_WHERE: dict[str, str] = {
    "Alerting": "alerting",
    "AlertingArgs": "alerting",
    "ArmorSettings": "edge",
    "BillingBudget": "budget",
    "BillingBudgetArgs": "budget",
    "BucketRole": "iam",
    "BucketSet": "buckets",
    "BucketSetArgs": "buckets",
    "BucketSpec": "buckets",
    "BuildFromSource": "registry",
    "BurnWindow": "slo",
    "ChatService": "chat_service",
    "ChatServiceArgs": "chat_service",
    "CloudRunGpu": "inference",
    "ContainerImage": "registry",
    "ContainerImageArgs": "registry",
    "EdgeBackend": "edge",
    "EdgeLoadBalancer": "edge",
    "EdgeLoadBalancerArgs": "edge",
    "ErrorLogMetric": "log_metrics",
    "ErrorLogMetricArgs": "log_metrics",
    "ExternalImage": "registry",
    "FirestoreDatabase": "firestore",
    "FirestoreDatabaseArgs": "firestore",
    "FirestoreExport": "firestore_export",
    "GeminiFallback": "inference",
    "GpuVmPool": "inference",
    "Guardrails": "guardrails",
    "GuardrailsArgs": "guardrails",
    "InferenceEndpoint": "inference",
    "InferenceEndpointArgs": "inference",
    "InferenceSignals": "alerting",
    "InternalAllow": "vpc",
    "LogSink": "log_sink",
    "LogSinkArgs": "log_sink",
    "ManagedModel": "inference",
    "PagerDutyChannel": "alerting",
    "PersonaAccess": "personas",
    "PersonaTargets": "personas",
    "PrivateNetwork": "inference",
    "ProjectAuditLogs": "audit_logs",
    "ProjectAuditLogsArgs": "audit_logs",
    "ProjectRole": "iam",
    "ProjectServices": "apis",
    "ProjectServicesArgs": "apis",
    "RateLimit": "edge",
    "SecretRole": "iam",
    "SecretSet": "secrets",
    "SecretSetArgs": "secrets",
    "ServerlessTarget": "edge",
    "ServiceSlos": "slo",
    "ServiceSlosArgs": "slo",
    "SlackChannel": "alerting",
    "SloTargets": "slo",
    "SourceRefusalMetric": "source_refusals",
    "SourceRefusalMetricArgs": "source_refusals",
    "SubnetSpec": "vpc",
    "Thresholds": "alerting",
    "TrafficSplit": "chat_service",
    "UsageDashboard": "alerting",
    "UsageLogMetrics": "log_metrics",
    "UsageLogMetricsArgs": "log_metrics",
    "VertexModelGarden": "inference",
    "VpcEgress": "chat_service",
    "VpcNetwork": "vpc",
    "VpcNetworkArgs": "vpc",
    "WorkingHours": "inference",
}

__all__ = [
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
    "BurnWindow",
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
    "FirestoreExport",
    "GeminiFallback",
    "GpuVmPool",
    "Guardrails",
    "GuardrailsArgs",
    "InferenceEndpoint",
    "InferenceEndpointArgs",
    "InferenceSignals",
    "InternalAllow",
    "LogSink",
    "LogSinkArgs",
    "ManagedModel",
    "PagerDutyChannel",
    "PersonaAccess",
    "PersonaTargets",
    "PrivateNetwork",
    "ProjectAuditLogs",
    "ProjectAuditLogsArgs",
    "ProjectRole",
    "ProjectServices",
    "ProjectServicesArgs",
    "RateLimit",
    "SecretRole",
    "SecretSet",
    "SecretSetArgs",
    "ServerlessTarget",
    "ServiceSlos",
    "ServiceSlosArgs",
    "SlackChannel",
    "SloTargets",
    "SourceRefusalMetric",
    "SourceRefusalMetricArgs",
    "SubnetSpec",
    "Thresholds",
    "TrafficSplit",
    "UsageDashboard",
    "UsageLogMetrics",
    "UsageLogMetricsArgs",
    "VertexModelGarden",
    "VpcEgress",
    "VpcNetwork",
    "VpcNetworkArgs",
    "WorkingHours",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)


if TYPE_CHECKING:
    from stagewise.components.alerting import Alerting, AlertingArgs, InferenceSignals, PagerDutyChannel, SlackChannel, Thresholds, UsageDashboard
    from stagewise.components.apis import ProjectServices, ProjectServicesArgs
    from stagewise.components.audit_logs import ProjectAuditLogs, ProjectAuditLogsArgs
    from stagewise.components.buckets import BucketSet, BucketSetArgs, BucketSpec
    from stagewise.components.budget import BillingBudget, BillingBudgetArgs
    from stagewise.components.chat_service import ChatService, ChatServiceArgs, TrafficSplit, VpcEgress
    from stagewise.components.edge import ArmorSettings, EdgeBackend, EdgeLoadBalancer, EdgeLoadBalancerArgs, RateLimit, ServerlessTarget
    from stagewise.components.firestore import FirestoreDatabase, FirestoreDatabaseArgs
    from stagewise.components.firestore_export import FirestoreExport
    from stagewise.components.guardrails import Guardrails, GuardrailsArgs
    from stagewise.components.iam import BucketRole, ProjectRole, SecretRole
    from stagewise.components.inference import CloudRunGpu, GeminiFallback, GpuVmPool, InferenceEndpoint, InferenceEndpointArgs, ManagedModel, PrivateNetwork, VertexModelGarden, WorkingHours
    from stagewise.components.log_metrics import ErrorLogMetric, ErrorLogMetricArgs, UsageLogMetrics, UsageLogMetricsArgs
    from stagewise.components.log_sink import LogSink, LogSinkArgs
    from stagewise.components.personas import PersonaAccess, PersonaTargets
    from stagewise.components.registry import BuildFromSource, ContainerImage, ContainerImageArgs, ExternalImage
    from stagewise.components.secrets import SecretSet, SecretSetArgs
    from stagewise.components.slo import BurnWindow, ServiceSlos, ServiceSlosArgs, SloTargets
    from stagewise.components.source_refusals import SourceRefusalMetric, SourceRefusalMetricArgs
    from stagewise.components.vpc import InternalAllow, SubnetSpec, VpcNetwork, VpcNetworkArgs
