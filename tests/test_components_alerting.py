"""Alerting: channels (credentials only from Secret Manager), alert policies with runbooks, uptime
check, dashboard — and every `stagewise:alerting` config error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stagewise.components.alerting import (
    DEFAULT_UPTIME_PATH,
    Alerting,
    AlertingArgs,
    InferenceSignals,
    PagerDutyChannel,
    SlackChannel,
    Thresholds,
)
from stagewise.stacks.config.loader import ConfigError, load_config
from stagewise.engine.record import ProgramRun
from tests.conftest import one

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"


def declare(run_component: Callable[..., ProgramRun], **overrides: Any) -> ProgramRun:
    def program() -> None:
        args: dict[str, Any] = {
            "project": "stagewise-test",
            "service_names": ["chat", "partner"],
            "max_instances": 10,
            "emails": ["oncall@example.com"],
            "uptime_host": "chat.example.com",
        }
        args.update(overrides)
        Alerting("alerting", AlertingArgs(**args))

    return run_component(program)


def policies(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.name.removeprefix("alerting-"): r.inputs for r in run.of_type(POLICY)}


def threshold(policy: dict[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = policy["conditions"][0]["conditionThreshold"]
    return condition


def test_service_alerts_and_uptime_each_with_a_runbook(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component)
    found = policies(run)
    assert set(found) == {"error-ratio", "latency-p95", "instances-near-max", "uptime"}
    channel = one(run, CHANNEL)
    for key, policy in found.items():
        doc = policy["documentation"]
        assert doc["mimeType"] == "text/markdown", key
        assert "**What to do:**" in doc["content"] and "1. " in doc["content"], key
        # The channel's resource name (projects/P/notificationChannels/ID), the form policies and budgets take.
        assert policy["notificationChannels"] == [channel.outputs["name"]], key
        assert channel.outputs["name"].startswith("projects/stagewise-test/notificationChannels/"), key
        assert policy["alertStrategy"]["autoClose"] == "604800s"
    component = one(run, "stagewise:index:Alerting")
    assert all(r.parent == component.urn for r in run.resources if r.custom)


def test_5xx_ratio_latency_and_instances_conditions(run_component: Callable[..., ProgramRun]) -> None:
    found = policies(declare(run_component, thresholds=Thresholds(error_ratio=0.02, latency_p95_ms=2500, instance_ratio=0.5)))
    ratio = threshold(found["error-ratio"])
    assert 'service_name=one_of("chat", "partner")' in ratio["filter"]
    assert 'response_code_class="5xx"' in ratio["filter"]
    assert "response_code_class" not in ratio["denominatorFilter"]
    assert ratio["thresholdValue"] == 0.02 and ratio["comparison"] == "COMPARISON_GT"
    assert found["error-ratio"]["severity"] == "CRITICAL"
    latency = threshold(found["latency-p95"])
    assert 'metric.type="run.googleapis.com/request_latencies"' in latency["filter"]
    assert latency["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_95"
    assert latency["thresholdValue"] == 2500
    instances = threshold(found["instances-near-max"])
    assert "container/instance_count" in instances["filter"]
    assert instances["thresholdValue"] == 5  # 50 % of 10
    assert "resource.label.location" in instances["aggregations"][0]["groupByFields"]


def test_per_service_maximum_gives_one_instances_alert_each(run_component: Callable[..., ProgramRun]) -> None:
    found = policies(declare(run_component, max_instances={"chat": 10, "partner": 4}))
    assert "instances-near-max" not in found
    chat, partner = threshold(found["instances-near-max-chat"]), threshold(found["instances-near-max-partner"])
    assert chat["thresholdValue"] == 8 and 'one_of("chat")' in chat["filter"]
    assert partner["thresholdValue"] == 3.2 and 'one_of("partner")' in partner["filter"]


def test_uptime_check_on_public_https_endpoint(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, uptime_path="/ready", uptime_period_sec=300)
    check = one(run, "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig").inputs
    assert check["monitoredResource"] == {"type": "uptime_url", "labels": {"host": "chat.example.com", "project_id": "stagewise-test"}}
    assert check["httpCheck"]["useSsl"] is True and check["httpCheck"]["validateSsl"] is True
    assert check["httpCheck"]["path"] == "/ready" and check["httpCheck"]["port"] == 443
    assert check["period"] == "300s"
    uptime = threshold(policies(run)["uptime"])
    assert "uptime_check/check_passed" in uptime["filter"] and "check_id=" in uptime["filter"]


def test_no_uptime_without_host(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, uptime_host=None)
    assert not run.of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
    assert "uptime" not in policies(run)


@pytest.mark.parametrize(
    ("mode", "metrics"),
    [
        ("vertex", ["prediction/online/error_count", "prediction/online/prediction_latencies", "accelerator/duty_cycle"]),
        ("cloudrun-gpu", ["run.googleapis.com/request_count", "run.googleapis.com/request_latencies", "container/gpu/utilizations"]),
        ("gpu-vm", ["vllm:request_success_total", "vllm:e2e_request_latency_seconds_bucket", "vllm:num_requests_waiting"]),
    ],
)
def test_inference_alerts_per_mode(run_component: Callable[..., ProgramRun], mode: str, metrics: list[str]) -> None:
    found = policies(declare(run_component, inference=InferenceSignals(mode=mode, target="llm-target")))
    keys = ("inference-errors", "inference-latency", "inference-saturation" if mode == "gpu-vm" else "gpu-utilization")
    assert set(keys) <= set(found)
    for key, metric in zip(keys, metrics):
        condition = found[key]["conditions"][0]
        text = json.dumps(condition)
        assert metric in text, (key, text)
        assert "What to do" in found[key]["documentation"]["content"]
        assert "llm-target" in text, (key, text)  # gpu-vm: the scrape job is the pool's VM name prefix
    if mode == "gpu-vm":
        promql = found["inference-latency"]["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
        assert promql.endswith("> 10") and 'job="llm-target"' in promql


def test_gpu_threshold_units_follow_the_metric(run_component: Callable[..., ProgramRun]) -> None:
    vertex = policies(declare(run_component, inference=InferenceSignals("vertex", "1"), thresholds=Thresholds(gpu_utilization=0.85)))
    run_gpu = policies(declare(run_component, inference=InferenceSignals("cloudrun-gpu", "llm"), thresholds=Thresholds(gpu_utilization=0.85)))
    assert threshold(vertex["gpu-utilization"])["thresholdValue"] == 85  # duty_cycle is a percentage
    assert threshold(run_gpu["gpu-utilization"])["thresholdValue"] == 0.85  # a ratio


def test_slack_and_pagerduty_credentials_come_from_secret_manager(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, slack=SlackChannel("#chat-alerts", "slack-token"), pagerduty=PagerDutyChannel("pd-key"))
    channels = {r.inputs["type"]: r for r in run.of_type(CHANNEL)}
    assert set(channels) == {"email", "slack", "pagerduty"}
    assert channels["email"].inputs["labels"] == {"email_address": "oncall@example.com"}
    assert channels["slack"].inputs["labels"] == {"channel_name": "#chat-alerts"}
    # the credential is a Pulumi secret (the engine's secret signature), never a plain value
    for kind, label in (("slack", "authToken"), ("pagerduty", "serviceKey")):
        value = channels[kind].inputs["sensitiveLabels"][label]
        assert isinstance(value, dict) and "4dabf18193072939515e22adb298388d" in value, (kind, value)
    assert len(policies(run)["error-ratio"]["notificationChannels"]) == 3


def test_dashboard_charts_every_alerted_signal(run_component: Callable[..., ProgramRun]) -> None:
    run = declare(run_component, inference=InferenceSignals("vertex", "42"))
    dashboard = json.loads(one(run, "gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    titles = [tile["widget"]["title"] for tile in dashboard["mosaicLayout"]["tiles"]]
    assert sorted(titles) == sorted(p["conditions"][0]["displayName"] for p in policies(run).values())
    assert len(titles) == len(policies(run)) == 7
    ratio = dashboard["mosaicLayout"]["tiles"][0]["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]
    assert "timeSeriesFilterRatio" in ratio


def test_dashboard_can_be_left_out(run_component: Callable[..., ProgramRun]) -> None:
    assert not declare(run_component, dashboard=False).of_type("gcp:monitoring/dashboard:Dashboard")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service_names": []}, "service_names is empty"),
        ({"max_instances": 0}, "max_instances"),
        ({"max_instances": {"chat": 0}}, "at least 1"),
        ({"max_instances": {"other": 3}}, "one maximum per service"),
        ({"emails": []}, "no notification channel"),
        ({"emails": ["not-an-email"]}, "is not an address"),
        ({"uptime_period_sec": 30}, "uptime_period_sec"),
        ({"uptime_path": "healthz"}, "must start with /"),
        ({"uptime_path": "/healthz"}, "Cloud Run reserves"),
    ],
)
def test_args_errors(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"project": "p", "service_names": ["chat"], "max_instances": 3, "emails": ["a@example.com"]}
    with pytest.raises(ValueError, match=message):
        AlertingArgs(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SlackChannel("chat-alerts", "s"), "with its #"),
        (lambda: SlackChannel("#a", "xoxb-123 456"), "secret id"),
        (lambda: PagerDutyChannel("key with spaces"), "secret id"),
        (lambda: Thresholds(error_ratio=5), "thresholds.error_ratio"),
        (lambda: Thresholds(duration_sec=90), "whole minutes"),
        (lambda: InferenceSignals("managed", "x"), "managed has no metrics"),
    ],
)
def test_part_errors(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- stagewise:alerting config -------------------------------------------------------------

BASE = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}


def alerting_error(section: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, "stagewise:alerting": json.dumps(section)}, "prod")
    return str(caught.value)


def test_alerting_config_defaults() -> None:
    config = load_config({**BASE, "stagewise:alerting": json.dumps({"emails": ["oncall@example.com"]})}, "prod").alerting
    assert config is not None
    assert config.thresholds.error_ratio == 0.05 and config.dashboard
    # The chat service's health path unless Cloud Run reserves it (paths ending in z): never /healthz.
    assert config.uptime_path == DEFAULT_UPTIME_PATH and not config.uptime_path.endswith("z")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, "no notification channel"),
        ({"emails": ["nope"]}, "emails: 'nope' is not an email address"),
        ({"emails": ["a@example.com", "a@example.com"]}, "lists an address twice"),
        ({"slack": {"channel": "#x", "authToken": "xoxb-1"}}, "slack.authToken: credentials never go in the stack file"),
        ({"slack": {"channel": "#x", "token": "xoxb-1", "authTokenSecret": "s"}}, "set slack.authTokenSecret to the secret id"),
        ({"pagerduty": {"serviceKey": "abc"}}, "pagerduty.serviceKey: credentials never go in the stack file"),
        ({"slack": {"channel": "#x", "authTokenSecret": "projects/p/secrets/s"}}, "is not a Secret Manager secret id"),
        ({"slack": {"channel": "x", "authTokenSecret": "s"}}, "stagewise:alerting.slack.channel"),
        ({"slack": {"channel": "#x"}}, "stagewise:alerting.slack.authTokenSecret: required"),
        ({"emails": ["a@example.com"], "thresholds": {"errorRatio": 1.5}}, "stagewise:alerting.thresholds.errorRatio"),
        ({"emails": ["a@example.com"], "thresholds": {"durationSec": 90}}, "is not whole minutes"),
        ({"emails": ["a@example.com"], "uptimePeriodSec": 30}, "uptimePeriodSec 30"),
        ({"emails": ["a@example.com"], "uptimePath": "healthz"}, "stagewise:alerting.uptimePath"),
        ({"emails": ["a@example.com"], "uptimePath": "/healthz"}, "is one Cloud Run reserves"),
        ({"emails": ["a@example.com"], "uptimePath": "/_ah/health"}, "is one Cloud Run reserves"),
        ({"emails": ["a@example.com"], "threshold": {}}, "did you mean 'thresholds'"),
    ],
)
def test_alerting_config_errors_name_the_key_and_fix(section: dict[str, Any], expected: str) -> None:
    assert expected in alerting_error(section)


def test_config_thresholds_map_one_to_one_onto_the_component() -> None:
    from stagewise.stacks.config.alerting import ThresholdsConfig

    assert Thresholds(**ThresholdsConfig().model_dump()) == Thresholds()
