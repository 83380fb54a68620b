"""ServiceSlos: Cloud Monitoring SLOs for the chat service (availability and latency) with
multi-window burn-rate alerts.

A custom service (`gcp.monitoring.GenericService` without basic_service) holds two request-based
SLOs over Cloud Run's own metrics, as Google's guidance for request-response services describes:
availability as a good/total ratio (TimeSeriesRatio) of `run.googleapis.com/request_count`, bad =
5xx, and latency as a DistributionCut of `run.googleapis.com/request_latencies`
(https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/sli-metrics/req-resp-metrics).
A streamed answer counts its full duration, so the latency threshold is the time to a whole answer.

Each SLO gets one alert policy with two burn-rate conditions over `select_slo_burn_rate` (the
selector SLO alerts use; https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/api/create-policy-api,
https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/alerting-on-budget-burn-rate):
fast (1 h above 14.4: 2 % of a 30-day budget in an hour) and slow (6 h above 6: 5 % in 6 hours),
the usual pair of windows (SRE workbook, "Alerting on SLOs").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.monitoring import (
    AlertPolicyAlertStrategyArgs,
    AlertPolicyConditionArgs,
    AlertPolicyConditionConditionThresholdArgs,
    AlertPolicyConditionConditionThresholdTriggerArgs,
    AlertPolicyDocumentationArgs,
    SloRequestBasedSliArgs,
    SloRequestBasedSliDistributionCutArgs,
    SloRequestBasedSliDistributionCutRangeArgs,
    SloRequestBasedSliGoodTotalRatioArgs,
)


def burn_filter(slo_name: str, lookback_s: int) -> str:
    return f'select_slo_burn_rate("{slo_name}", "{lookback_s}s")'


@dataclass(frozen=True)
class BurnWindow:
    lookback_s: int
    threshold: float


@dataclass(frozen=True)
class SloTargets:
    availability: float = 0.995
    latency_goal: float = 0.95
    latency_ms: int = 30_000
    rolling_days: int = 28
    windows: tuple[BurnWindow, ...] = (BurnWindow(3600, 14.4), BurnWindow(21600, 6.0))

    def __post_init__(self) -> None:
        for name in ("availability", "latency_goal"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"slo.{name} {value} is a goal; use a fraction in (0, 1), e.g. 0.995")
        if not 1 <= self.rolling_days <= 30:
            raise ValueError(f"slo.rolling_days {self.rolling_days}: Cloud Monitoring rolls over 1-30 days")
        if self.latency_ms < 1:
            raise ValueError("slo.latency_ms must be at least 1")


@dataclass
class ServiceSlosArgs:
    project: pulumi.Input[str]
    service_names: Sequence[str]
    channel_ids: Sequence[pulumi.Input[str]]
    targets: SloTargets = field(default_factory=SloTargets)
    display_prefix: str = "stagewise"
    labels: Mapping[str, str] = field(default_factory=dict)


class ServiceSlos(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServiceSlosArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ServiceSlos", name, None, opts)
        t = args.targets
        child = pulumi.ResourceOptions(parent=self)
        quoted = ", ".join(f'"{s}"' for s in args.service_names)
        run = f'resource.type="cloud_run_revision" AND resource.labels.service_name=one_of({quoted})'
        self.service = gcp.monitoring.GenericService(
            f"{name}-service",
            project=args.project,
            service_id=f"{name}-chat",
            display_name=f"{args.display_prefix}: chat service",
            user_labels=dict(args.labels),
            opts=child,
        )
        requests = f'{run} AND metric.type="run.googleapis.com/request_count"'
        self.availability = gcp.monitoring.Slo(
            f"{name}-availability",
            project=args.project,
            service=self.service.service_id,
            slo_id="availability",
            display_name=f"{t.availability:.2%} of requests are not 5xx ({t.rolling_days} days)",
            goal=t.availability,
            rolling_period_days=t.rolling_days,
            request_based_sli=SloRequestBasedSliArgs(
                good_total_ratio=SloRequestBasedSliGoodTotalRatioArgs(
                    bad_service_filter=f'{requests} AND metric.labels.response_code_class="5xx"',
                    total_service_filter=requests,
                )
            ),
            user_labels=dict(args.labels),
            opts=child,
        )
        self.latency = gcp.monitoring.Slo(
            f"{name}-latency",
            project=args.project,
            service=self.service.service_id,
            slo_id="latency",
            display_name=f"{t.latency_goal:.0%} of requests within {t.latency_ms} ms ({t.rolling_days} days)",
            goal=t.latency_goal,
            rolling_period_days=t.rolling_days,
            request_based_sli=SloRequestBasedSliArgs(
                distribution_cut=SloRequestBasedSliDistributionCutArgs(
                    distribution_filter=f'{run} AND metric.type="run.googleapis.com/request_latencies"',
                    range=SloRequestBasedSliDistributionCutRangeArgs(max=float(t.latency_ms)),
                )
            ),
            user_labels=dict(args.labels),
            opts=child,
        )
        self.policies = {
            "slo-availability-burn": self._burn_policy(name, "availability", self.availability, args),
            "slo-latency-burn": self._burn_policy(name, "latency", self.latency, args),
        }
        self.slo_names = {"availability": self.availability.name, "latency": self.latency.name}
        self.register_outputs({"slo_names": self.slo_names})

    def _burn_policy(self, name: str, key: str, slo: gcp.monitoring.Slo, args: ServiceSlosArgs) -> gcp.monitoring.AlertPolicy:
        conditions = [
            AlertPolicyConditionArgs(
                display_name=f"{key} SLO burn rate above {w.threshold:g} over {w.lookback_s // 3600} h",
                condition_threshold=AlertPolicyConditionConditionThresholdArgs(
                    filter=slo.name.apply(functools.partial(burn_filter, lookback_s=w.lookback_s)),
                    comparison="COMPARISON_GT",
                    threshold_value=w.threshold,
                    duration="0s",
                    trigger=AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
                ),
            )
            for w in args.targets.windows
        ]
        return gcp.monitoring.AlertPolicy(
            f"{name}-{key}-burn",
            project=args.project,
            display_name=f"{args.display_prefix}: {key} SLO error budget burning",
            combiner="OR",
            severity="CRITICAL",
            conditions=conditions,
            notification_channels=list(args.channel_ids),
            documentation=AlertPolicyDocumentationArgs(
                subject=f"[CRITICAL] {args.display_prefix}: {key} SLO error budget burning",
                content=(
                    f"**What happened:** the chat service spends its {key} error budget faster than the SLO allows "
                    "(the condition names the window).\n\n**What to do:**\n"
                    "1. Open the SLO in Monitoring → SLOs and the 5xx / p95 latency charts of the dashboard.\n"
                    "2. If it started with a deploy: move traffic back to the previous revision.\n"
                    "3. If the model is slow or failing: check the inference alerts; the fallback model should answer.\n"
                ),
                mime_type="text/markdown",
            ),
            alert_strategy=AlertPolicyAlertStrategyArgs(auto_close="604800s"),
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
