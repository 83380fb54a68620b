"""Usage metrics by tenant and model, SLOs with burn-rate alerts, the per-tenant spend alert and
the dashboards that show them (prod's Alerting, staging's partner dashboard)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stagewise.components.alerting import Alerting, AlertingArgs, UsageDashboard
from stagewise.components.log_metrics import UsageLogMetrics, UsageLogMetricsArgs, promql_name
from stagewise.components.slo import BurnWindow, SloTargets
from stagewise.engine.record import ProgramRun

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
METRIC = "gcp:logging/metric:Metric"
SLO = "gcp:monitoring/slo:Slo"


def alerting(run_component: Callable[..., ProgramRun], **overrides: Any) -> ProgramRun:
    def program() -> None:
        usage = UsageLogMetrics("usage", UsageLogMetricsArgs(project="p", service_names=["chat"]))
        args: dict[str, Any] = dict(project="p", service_names=["chat"], max_instances=10, emails=["oncall@example.com"],
                                    slo=SloTargets(), usage_metrics=usage.metric_names, tenant_daily_spend_usd=25.0)
        args.update(overrides)
        Alerting("alerting", AlertingArgs(**args))

    return run_component(program)


def test_usage_metrics_extract_each_value_by_tenant_and_model(run_component: Callable[..., ProgramRun]) -> None:
    run = alerting(run_component)
    metrics = {r.inputs["name"]: r.inputs for r in run.of_type(METRIC)}
    assert set(metrics) == {"chat-input-tokens", "chat-output-tokens", "chat-cost-usd", "chat-ttft-ms", "chat-errors-by-tenant"}
    cost = metrics["chat-cost-usd"]
    assert cost["valueExtractor"] == "EXTRACT(jsonPayload.cost_usd)"
    assert cost["labelExtractors"] == {"tenant": 'REGEXP_EXTRACT(jsonPayload.tenant, "^(anon-|.+)")',
                                       "model": "EXTRACT(jsonPayload.model)"}
    assert cost["metricDescriptor"]["valueType"] == "DISTRIBUTION"
    assert 'resource.labels.service_name=one_of("chat")' in cost["filter"]
    assert metrics["chat-errors-by-tenant"]["metricDescriptor"]["valueType"] == "INT64"
    assert "severity>=ERROR" in metrics["chat-errors-by-tenant"]["filter"]


def test_slos_and_burn_rate_alerts(run_component: Callable[..., ProgramRun]) -> None:
    run = alerting(run_component)
    slos = {r.inputs["sloId"]: r.inputs for r in run.of_type(SLO)}
    assert set(slos) == {"availability", "latency"}
    ratio = slos["availability"]["requestBasedSli"]["goodTotalRatio"]
    assert 'response_code_class="5xx"' in ratio["badServiceFilter"] and "request_count" in ratio["totalServiceFilter"]
    assert slos["availability"]["goal"] == 0.995 and slos["availability"]["rollingPeriodDays"] == 28
    cut = slos["latency"]["requestBasedSli"]["distributionCut"]
    assert cut["range"]["max"] == 30000 and "request_latencies" in cut["distributionFilter"]
    policies = {r.name: r.inputs for r in run.of_type(POLICY)}
    burn = policies["alerting-slo-availability-burn"]
    filters = [c["conditionThreshold"]["filter"] for c in burn["conditions"]]
    assert len(filters) == 2 and all(f.startswith("select_slo_burn_rate(") for f in filters)
    assert [c["conditionThreshold"]["thresholdValue"] for c in burn["conditions"]] == [14.4, 6.0]
    assert '"3600s")' in filters[0] and '"21600s")' in filters[1]
    assert burn["notificationChannels"]


def test_tenant_spend_alert_and_dashboard_tiles(run_component: Callable[..., ProgramRun]) -> None:
    run = alerting(run_component)
    policies = {r.name: r.inputs for r in run.of_type(POLICY)}
    spend = policies["alerting-tenant-spend"]["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
    assert spend == f"sum by (tenant) (increase({promql_name('chat-cost-usd')}_sum[1d])) > 25"
    dashboard = json.loads(run.of_type("gcp:monitoring/dashboard:Dashboard")[0].inputs["dashboardJson"])
    titles = [tile["widget"]["title"] for tile in dashboard["mosaicLayout"]["tiles"]]
    assert "cost (USD) per hour by tenant" in titles and "time to first token p95 (ms) by model" in titles
    assert "errors/s by tenant and model" in titles and "input tokens/s by tenant and model" in titles


def test_promql_names_follow_googles_mapping() -> None:
    assert promql_name("chat-cost-usd") == "logging_googleapis_com:user_chat_cost_usd"


def test_bad_observability_args_are_refused() -> None:
    with pytest.raises(ValueError, match="tenant_daily_spend_usd needs usage_metrics"):
        AlertingArgs(project="p", service_names=["chat"], max_instances=1, emails=["a@example.com"], tenant_daily_spend_usd=5)
    with pytest.raises(ValueError, match="slo.availability"):
        SloTargets(availability=1.0)
    with pytest.raises(ValueError, match="rolling_days"):
        SloTargets(rolling_days=90)
    assert SloTargets(windows=(BurnWindow(3600, 10),)).windows[0].threshold == 10


def test_partner_usage_dashboard(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        usage = UsageLogMetrics("partner-usage", UsageLogMetricsArgs(project="p", service_names=["partners"], prefix="partner"))
        UsageDashboard("partner-usage-dashboard", "p", "partners", usage.metric_names)

    run = run_component(program)
    dashboard = json.loads(run.of_type("gcp:monitoring/dashboard:Dashboard")[0].inputs["dashboardJson"])
    queries = [t["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["prometheusQuery"] for t in dashboard["mosaicLayout"]["tiles"]]
    assert any("sum by (tenant)" in q and "user_partner_cost_usd_sum" in q for q in queries)
    assert not run.of_type(POLICY)


# --- stagewise:alerting.slo / tenantDailySpendUsd ------------------------------------------------

BASE = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"slo": {"availability": 1.5}}, "slo.availability"),
        ({"slo": {"rollingDays": 90}}, "slo.rollingDays"),
        ({"slo": {"latencyMs": 10}}, "slo.latencyMs"),
        ({"tenantDailySpendUsd": -1}, "tenantDailySpendUsd"),
    ],
)
def test_slo_config_errors_name_the_key(section: dict[str, Any], needle: str) -> None:
    from stagewise.stacks.config.loader import ConfigError, load_config

    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, "stagewise:alerting": json.dumps({"emails": ["oncall@example.com"], **section})}, "prod")
    assert needle in str(caught.value), str(caught.value)


def test_slo_config_maps_onto_the_component() -> None:
    from stagewise.stacks.config.alerting import SloConfig

    assert SloTargets(**SloConfig().model_dump()) == SloTargets()


def test_the_tenant_label_folds_anonymous_callers_into_one_value() -> None:
    import re

    from stagewise.components.log_metrics import TENANT_EXTRACTOR

    pattern = re.search(r'"(.+)"', TENANT_EXTRACTOR)
    assert pattern is not None
    regex = re.compile(pattern.group(1))  # Python's alternation is leftmost-first, like RE2's
    for tenant, label in (("anon-0123456789abcdef", "anon-"), ("acme", "acme"), ("acme-corp", "acme-corp")):
        found = regex.search(tenant)
        assert found is not None and found.group(1) == label
