"""Monitoring dashboards: Alerting's (its signals as charts) and the per-partner usage dashboard."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_gcp as gcp

from stagewise.components.alerting.signals import Signal, usage_charts


class UsageDashboard(pulumi.ComponentResource):
    """A dashboard of the usage log metrics alone (tokens, cost, TTFT, errors by tenant and
    model), for a stage without alerting: staging shows each partner's traffic and cost apart."""

    def __init__(self, name: str, project: pulumi.Input[str], title: str, metrics: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:UsageDashboard", name, None, opts)
        self.dashboard = gcp.monitoring.Dashboard(
            name, project=project, dashboard_json=dashboard_json(title, usage_charts(metrics)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


def dashboard_json(title: str, signals: list[Signal]) -> pulumi.Output[str]:
    queries: list[pulumi.Input[str]] = []
    for signal in signals:
        queries.append(signal.promql if signal.promql is not None else signal.filter or "")
        queries.append(signal.denominator or "")

    def render(resolved: list[Any]) -> str:
        tiles = []
        for index, signal in enumerate(signals):
            query, denominator = str(resolved[2 * index]), str(resolved[2 * index + 1])
            aggregation = {
                "alignmentPeriod": signal.period,
                "perSeriesAligner": signal.aligner,
                "crossSeriesReducer": signal.reducer,
                "groupByFields": list(signal.group_by),
            }
            series: dict[str, Any]
            if signal.promql is not None:
                # Chart the measured value; the comparison stays in the alert.
                series = {"prometheusQuery": query.rsplit(" > ", 1)[0]}
            elif denominator:
                series = {
                    "timeSeriesFilterRatio": {
                        "numerator": {"filter": query, "aggregation": aggregation},
                        "denominator": {"filter": denominator, "aggregation": aggregation},
                    }
                }
            else:
                series = {"timeSeriesFilter": {"filter": query, "aggregation": aggregation}}
            tiles.append(
                {
                    "xPos": (index % 2) * 24,
                    "yPos": (index // 2) * 16,
                    "width": 24,
                    "height": 16,
                    "widget": {
                        "title": signal.title,
                        "xyChart": {
                            "dataSets": [{"timeSeriesQuery": series, "plotType": "LINE"}],
                            "thresholds": [{"value": signal.threshold}] if signal.promql is None else [],
                        },
                    },
                }
            )
        return json.dumps({"displayName": title, "mosaicLayout": {"columns": 48, "tiles": tiles}}, sort_keys=True)

    return pulumi.Output.all(*queries).apply(render)
