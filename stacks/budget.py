"""The stage's billing budget: one call a composition makes (`billing_budget(config)`)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from stagewise.components.budget import BillingBudget, BillingBudgetArgs
from stagewise.stacks.config import StackConfig


def billing_budget(
    config: StackConfig,
    notification_channels: Sequence[pulumi.Input[str]] = (),
    depends_on: Sequence[pulumi.Resource] = (),
) -> BillingBudget | None:
    """A budget when `stagewise:budget` names a billing account and an amount; else nothing.

    Without a billing account the amount still serves: the offline review warns when the cost
    estimate exceeds it.
    """
    budget = config.budget
    if budget.billing_account is None or budget.monthly_usd is None:
        return None
    return BillingBudget(
        "budget",
        BillingBudgetArgs(
            project=config.gcp.project,
            billing_account=budget.billing_account,
            amount_usd=budget.monthly_usd,
            display_name=f"stagewise {config.stage} {config.gcp.project}"[:60],
            thresholds=budget.thresholds,
            forecast_threshold=budget.forecast_threshold,
            notification_channels=[*budget.notification_channels, *notification_channels],
            depends_on=list(depends_on),
            billing_project=budget.billing_project or config.gcp.project,
        ),
    )
