"""Service level objectives: production is watched against its SLA.

The design asks prod to be monitored against an SLA; Cloud Monitoring expresses that as SLOs on a
service with burn-rate alerts over `select_slo_burn_rate`
(https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/api/create-policy-api). The rule
asks a stack that runs Cloud Run services for at least one SLO whose SLI names one of them, and
for an enabled alert policy with a notification channel that alerts on an SLO's burn rate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import tokens as t
from .base import Finding, Resource, stack_rule
from .props import flag, get, strings, text, walk_strings

SLO = "gcp:monitoring/slo:Slo"
BURN_RATE = re.compile(r"select_slo_burn_rate\(")


def _names_service(slo: Resource, names: list[str]) -> bool:
    """The SLI's filters select Cloud Run and name one of the stack's services, or no service
    (then the SLO measures every Cloud Run service of the project, these included)."""
    filters = walk_strings(get(slo.props, "requestBasedSli")) + walk_strings(get(slo.props, "windowsBasedSli"))
    run = [value for value in filters if "cloud_run_revision" in value]
    if not run:
        return False
    return any("service_name" not in value or any(f'"{name}"' in value for name in names) for value in run)


@stack_rule(
    "obs-slo-required",
    family="observability",
    description="A stack that runs Cloud Run services declares an SLO on one of them and an alert on its error-budget burn rate.",
    severity=Severity.HIGH,
    remediation="Declare a gcp.monitoring.Slo whose SLI filters name the chat service (Alerting(slo=SloTargets()) does) "
    "and an AlertPolicy on select_slo_burn_rate with notification_channels.",
    types=[*t.RUN_SERVICES, SLO, t.ALERT_POLICY],
    enforcement=EnforcementLevel.MANDATORY,
)
def slo_required(resources: list[Resource], config: Mapping[str, Any]) -> Iterator[tuple[Resource | None, Finding]]:
    services = sorted({text(r.props, "name") or r.name for r in resources if r.type in t.RUN_SERVICES})
    if not services:
        return
    slos = [r for r in resources if r.type == SLO and _names_service(r, services)]
    if not slos:
        yield None, Finding(
            f"no SLO measures the Cloud Run service(s) {', '.join(services)}",
            "declare availability and latency SLOs on the chat service (stagewise:alerting.slo)",
        )
        return
    burn_alerts = [
        r for r in resources
        if r.type == t.ALERT_POLICY and flag(r.props, "enabled", default=True) is True
        and strings(get(r.props, "notificationChannels"))
        and any(BURN_RATE.search(value) for value in walk_strings(get(r.props, "conditions")))
    ]
    if not burn_alerts:
        yield None, Finding(
            "the SLOs have no enabled burn-rate alert with a notification channel",
            "add an AlertPolicy whose condition filter is select_slo_burn_rate(<slo name>, <lookback>) and set notification_channels",
        )
