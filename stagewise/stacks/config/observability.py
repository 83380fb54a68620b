"""`stagewise:logging` — logging from day one."""

from __future__ import annotations

from pydantic import Field

from stagewise.stacks.config.base import Section


class LoggingConfig(Section):
    """Log-based signals; the app itself writes structured JSON to stdout."""

    error_metric: bool = Field(True, description="a log-based metric counting the service's ERROR entries")
    log_content: bool = Field(False, description="let the app log message content (off: privacy by default)")
    data_access_audit_logs: bool | None = Field(
        None, description="Data Access audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) for allServices, CIS 2.1; "
        "unset: on in prod, off in mvp and staging (their volume is billed as log ingestion)")

    def audit_logs_on(self, stage: str) -> bool:
        """Whether the stage turns on Data Access audit logs: the key if set, else only prod."""
        return self.data_access_audit_logs if self.data_access_audit_logs is not None else stage == "prod"
