"""ProjectAuditLogs: Data Access audit logs for every service of the project (CIS 2.1).

Admin Activity audit logs are always written and cannot be turned off; Data Access audit logs
(ADMIN_READ, DATA_READ, DATA_WRITE) are off by default for most services and must be enabled in the
project's IAM policy, here as one ``allServices`` audit config. CIS Google Cloud Foundations 2.1
asks for all three log types on allServices with no exempted members:
https://www.tenable.com/audits/items/CIS_Google_Cloud_Platform_v3.0.0_L1.audit:647f45cd8247de9f226771ebe4aef5ac
How and why (their volume can be large, and they are billed as log ingestion):
https://docs.cloud.google.com/logging/docs/audit/configure-data-access

Usage::

    ProjectAuditLogs("audit-logs", ProjectAuditLogsArgs(project="my-project"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

ALL_SERVICES = "allServices"
LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")


@dataclass(frozen=True)
class ProjectAuditLogsArgs:
    project: pulumi.Input[str]
    log_types: Sequence[str] = LOG_TYPES

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.log_types if kind not in LOG_TYPES]
        if unknown or not self.log_types:
            raise ValueError(f"log_types {list(self.log_types)!r}: give some of {', '.join(LOG_TYPES)} "
                             "(Admin Activity logs are always on and not configurable)")


class ProjectAuditLogs(pulumi.ComponentResource):
    """One allServices IAMAuditConfig turning on the Data Access log types; nobody is exempted."""

    def __init__(self, name: str, args: ProjectAuditLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ProjectAuditLogs", name, None, opts)
        # The audit config is part of the project's IAM policy; the resource edits only its auditConfigs
        # entry for allServices and leaves the bindings alone.
        self.config = gcp.projects.IAMAuditConfig(
            name, project=args.project, service=ALL_SERVICES,
            audit_log_configs=[gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=kind) for kind in dict.fromkeys(args.log_types)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"service": ALL_SERVICES, "log_types": list(dict.fromkeys(args.log_types))})
