"""Budgets: the config section, the Cloud Billing budget the stack declares, the review's warning."""

from __future__ import annotations

import json

import pytest

from stagewise.components.budget import BillingBudget, BillingBudgetArgs, _money
from stagewise.stacks.config import ConfigError, load_config
from stagewise.engine.record import run_program, run_stack

ACCOUNT = "01A2B3-C4D5E6-F7A8B9"  # shaped like a real id (sequences like 012345-6789AB-… are refused as placeholders)


def _config(budget: dict[str, object]) -> dict[str, str]:
    return {"gcp:project": "stagewise-mvp", "stagewise:budget": json.dumps(budget)}


def test_budget_config_defaults_and_validation() -> None:
    config = load_config(_config({"monthlyUsd": 40}), "mvp")
    assert config.budget.monthly_usd == 40 and config.budget.thresholds == [0.5, 0.9, 1.0]
    for bad, message in [
        ({"monthlyUsd": -1}, "stagewise:budget.monthlyUsd"),
        ({"monthlyUsd": 10, "billingAccount": "nope"}, "billing account id"),
        ({"billingAccount": ACCOUNT}, "set budget.monthlyUsd"),
        ({"monthlyUsd": 10, "thresholds": [0.5, 0.5]}, "repeat"),
        ({"monthlyUsd": 10, "thresholds": [0]}, "outside"),
        ({"monthlyUsd": 10, "notificationChannels": ["email:me"]}, "notificationChannels"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(_config(bad), "mvp")


def test_no_billing_account_means_no_budget_resource() -> None:
    run = run_stack("mvp", overrides={"stagewise:budget": json.dumps({"monthlyUsd": 25})})
    assert run.of_type("gcp:billing/budget:Budget") == []


def test_mvp_declares_a_project_scoped_budget_with_thresholds() -> None:
    budget = {"monthlyUsd": 25.5, "billingAccount": ACCOUNT, "thresholds": [0.5, 1.0], "forecastThreshold": 1.2,
              "notificationChannels": ["projects/stagewise-mvp/notificationChannels/42"]}
    run = run_stack("mvp", overrides={"stagewise:budget": json.dumps(budget)})
    [declared] = run.of_type("gcp:billing/budget:Budget")
    inputs = declared.inputs
    assert inputs["billingAccount"] == ACCOUNT
    assert inputs["amount"]["specifiedAmount"] == {"currencyCode": "USD", "units": "25", "nanos": 500000000.0}
    assert inputs["budgetFilter"]["projects"] == ["projects/123456789012"]
    assert inputs["budgetFilter"]["calendarPeriod"] == "MONTH"
    assert [(r["thresholdPercent"], r["spendBasis"]) for r in inputs["thresholdRules"]] == [
        (0.5, "CURRENT_SPEND"), (1.0, "CURRENT_SPEND"), (1.2, "FORECASTED_SPEND")]
    assert inputs["allUpdatesRule"]["monitoringNotificationChannels"] == ["projects/stagewise-mvp/notificationChannels/42"]
    api = run.by_name("budget-api")
    assert api.inputs["service"] == "billingbudgets.googleapis.com"
    assert api.urn in declared.dependencies
    assert declared.parent == run.by_name("budget", "stagewise:index:BillingBudget").urn


def test_money_splits_units_and_nanos_exactly() -> None:
    assert _money(40) == ("40", 0)
    assert _money(0.1) == ("0", 100_000_000)
    assert _money(1234.56) == ("1234", 560_000_000)


def test_budget_args_reject_what_would_never_alert() -> None:
    with pytest.raises(ValueError, match="positive"):
        BillingBudgetArgs(project="p", billing_account=ACCOUNT, amount_usd=0, display_name="x")
    with pytest.raises(ValueError, match="never alerts"):
        BillingBudgetArgs(project="p", billing_account=ACCOUNT, amount_usd=5, display_name="x", thresholds=(), forecast_threshold=None)


def test_budget_component_standalone_registers_outputs() -> None:
    def program() -> None:
        BillingBudget("b", BillingBudgetArgs(project="stagewise-mvp", billing_account=ACCOUNT, amount_usd=9, display_name="t"))

    run = run_program(program, project="stagewise", stack="mvp", config={"gcp:project": "stagewise-mvp"})
    # The budget's own provider (quota project) is a registration too; order between siblings is not promised.
    assert sorted(r.type for r in run.resources) == sorted([
        "stagewise:index:BillingBudget", "pulumi:providers:gcp", "gcp:projects/service:Service", "gcp:billing/budget:Budget"])


def test_budget_as_a_bare_amount_or_under_the_issue_name() -> None:
    assert load_config({"gcp:project": "stagewise-mvp", "stagewise:budget": "60"}, "mvp").budget.monthly_usd == 60
    assert load_config(_config({"budgetMonthlyUsd": 70}), "mvp").budget.monthly_usd == 70
    with pytest.raises(ConfigError, match="not an amount"):
        load_config({"gcp:project": "stagewise-mvp", "stagewise:budget": "lots"}, "mvp")


def test_review_warns_with_a_bare_amount_budget() -> None:
    from stagewise.cost.estimate import estimate_run

    run = run_stack("mvp", overrides={"stagewise:budget": "1"})
    assert estimate_run(run).over_budget
