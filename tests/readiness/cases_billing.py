"""Fixtures: Cloud Billing budgets (account ids, amounts, filters, notifications, quota project)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_gcp as gcp
from harness import PROJECT, fail, ok
from pulumi_gcp import billing

ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
QUOTA = {"gcp:billingProject": PROJECT, "gcp:userProjectOverride": "true"}


def budget(provider: pulumi.ProviderResource | None = None, **kwargs: Any) -> billing.Budget:
    args: dict[str, Any] = {
        "billing_account": ACCOUNT, "display_name": "chat monthly",
        "amount": billing.BudgetAmountArgs(specified_amount=billing.BudgetAmountSpecifiedAmountArgs(currency_code="USD", units="800")),
        "budget_filter": billing.BudgetBudgetFilterArgs(projects=["projects/123456789012"], calendar_period="MONTH"),
        "threshold_rules": [billing.BudgetThresholdRuleArgs(threshold_percent=0.5), billing.BudgetThresholdRuleArgs(threshold_percent=1.0)],
    }
    args.update(kwargs)
    return billing.Budget("budget", opts=pulumi.ResourceOptions(provider=provider), **args)


def program(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        budget(**kwargs)

    return run


def project_number_from_lookup() -> None:
    number = gcp.organizations.get_project_output(project_id=PROJECT).number
    budget(budget_filter=billing.BudgetBudgetFilterArgs(projects=[number.apply(lambda n: f"projects/{n}")]))


def with_channels(count: int, by_id: bool = False) -> Callable[[], None]:
    def run() -> None:
        channels = [gcp.monitoring.NotificationChannel(f"c{i}", project=PROJECT, type="email", display_name=f"c{i}",
                                                       labels={"email_address": f"oncall{i}@stagewise.dev"}) for i in range(count)]
        refs = [c.id if by_id else c.name for c in channels]
        budget(all_updates_rule=billing.BudgetAllUpdatesRuleArgs(monitoring_notification_channels=refs))

    return run


def with_provider(billing_project: str | None, override: bool | None) -> Callable[[], None]:
    def run() -> None:
        provider = gcp.Provider("billing", project=PROJECT, billing_project=billing_project, user_project_override=override)
        budget(provider=provider)

    return run


def account_link(account: str) -> Callable[[], None]:
    def run() -> None:
        billing.ProjectInfo("link", project=PROJECT, billing_account=account)

    return run


CASES = [
    fail("billing-account-id", program(billing_account="000000-000000-000000"), config=QUOTA, resource="budget",
         field="billingAccount", id="placeholder"),
    fail("billing-account-id", program(billing_account="012345-567890-ABCDEF"), config=QUOTA, id="docs-example"),
    fail("billing-account-id", program(billing_account="my-billing-account"), config=QUOTA, id="not-an-id"),
    fail("billing-account-id", account_link("XXXXXX-XXXXXX-XXXXXX"), resource="link", id="project-link"),
    ok("billing-account-id", program(), config=QUOTA),
    ok("billing-account-id", program(billing_account=f"billingAccounts/{ACCOUNT}"), config=QUOTA, id="resource-name"),
    fail("billing-budget-amount", program(amount=billing.BudgetAmountArgs()), config=QUOTA, resource="budget", field="amount"),
    fail("billing-budget-amount", program(amount=billing.BudgetAmountArgs(
        specified_amount=billing.BudgetAmountSpecifiedAmountArgs(units="800"), last_period_amount=True)), config=QUOTA, id="both"),
    fail("billing-budget-amount", program(amount=billing.BudgetAmountArgs(
        specified_amount=billing.BudgetAmountSpecifiedAmountArgs(units="799.5"))), config=QUOTA, field="amount.specifiedAmount.units",
        id="fractional-units"),
    fail("billing-budget-amount", program(threshold_rules=[billing.BudgetThresholdRuleArgs(threshold_percent=-0.1)]), config=QUOTA,
         field="thresholdRules[0].thresholdPercent", id="negative-threshold"),
    fail("billing-budget-amount", program(display_name="d" * 61), config=QUOTA, field="displayName", id="long-name"),
    ok("billing-budget-amount", program(), config=QUOTA),
    ok("billing-budget-amount", program(amount=billing.BudgetAmountArgs(last_period_amount=True)), config=QUOTA, id="last-period"),
    fail("billing-budget-projects", program(budget_filter=billing.BudgetBudgetFilterArgs(projects=[f"projects/{PROJECT}"])),
         config=QUOTA, resource="budget", field="budgetFilter.projects[0]"),
    fail("billing-budget-projects", program(budget_filter=billing.BudgetBudgetFilterArgs(projects=["123456789012"])), config=QUOTA,
         id="no-prefix"),
    ok("billing-budget-projects", project_number_from_lookup, config=QUOTA),
    fail("billing-budget-notifications", with_channels(6), config=QUOTA, resource="budget",
         field="allUpdatesRule.monitoringNotificationChannels"),
    fail("billing-budget-notifications", program(all_updates_rule=billing.BudgetAllUpdatesRuleArgs(
        monitoring_notification_channels=["oncall@stagewise.dev"])), config=QUOTA, id="email-not-channel"),
    fail("billing-budget-notifications", program(all_updates_rule=billing.BudgetAllUpdatesRuleArgs(
        pubsub_topic="budget-alerts", schema_version="1.0")), config=QUOTA, field="allUpdatesRule.pubsubTopic", id="topic"),
    ok("billing-budget-notifications", with_channels(5), config=QUOTA),
    # A channel's id is projects/<p>/notificationChannels/<n> once it exists: the offline engine's invented id is no defect.
    ok("billing-budget-notifications", with_channels(2, by_id=True), config=QUOTA, id="channel-id-output"),
    ok("billing-budget-notifications", program(all_updates_rule=billing.BudgetAllUpdatesRuleArgs(
        pubsub_topic=f"projects/{PROJECT}/topics/budget-alerts", schema_version="1.0")), config=QUOTA, id="topic"),
    fail("billing-quota-project", program(), resource="budget", field="provider"),
    fail("billing-quota-project", program(), config={"gcp:billingProject": PROJECT}, id="no-override"),
    fail("billing-quota-project", with_provider(billing_project=PROJECT, override=None), id="explicit-provider"),
    ok("billing-quota-project", program(), config=QUOTA),
    ok("billing-quota-project", with_provider(billing_project=PROJECT, override=True), id="explicit-provider"),
]
