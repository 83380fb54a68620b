"""`stagewise:logging` — logging from day one."""

from __future__ import annotations

from pydantic import Field

from stagewise.stacks.config.base import Section


class LoggingConfig(Section):
    """Log-based signals; the app itself writes structured JSON to stdout."""

    error_metric: bool = Field(True, description="a log-based metric counting the service's ERROR entries")
    log_content: bool = Field(False, description="let the app log message content (off: privacy by default)")
