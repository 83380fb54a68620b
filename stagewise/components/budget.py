"""BillingBudget: a Cloud Billing budget on one project, alerting at fractions of a monthly amount.

Budgets alert; they do not stop spending. The budget is created on the billing account, so the
deployer needs `roles/billing.costsManager` (or billing.budgets.create) there.

The Budget API bills and rate-limits the *caller's* project, not the budgeted one: with user
credentials (`gcloud auth application-default login`) there is none unless set, and the API answers
403 ("requires a quota project", GoogleCloudPlatform/cloud-foundation-fabric#3360). The provider
documents the fix: "If you are using User ADCs ... you must specify a billing_project and set
user_project_override to true in the provider configuration"
(https://www.pulumi.com/registry/packages/gcp/api-docs/billing/budget). The budget is therefore
declared through its own provider with both set, so user and service-account credentials alike
bill `billing_project` (the stage project by default); the Budget API (billingbudgets.googleapis.com)
is enabled there, as a child, and the caller needs serviceusage.services.use on it (the deployer's
roles/serviceusage.serviceUsageAdmin has it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pulumi
import pulumi_gcp as gcp

BUDGET_API = "billingbudgets.googleapis.com"


@dataclass
class BillingBudgetArgs:
    project: pulumi.Input[str]
    billing_account: str
    amount_usd: float
    display_name: str
    thresholds: Sequence[float] = (0.5, 0.9, 1.0)
    forecast_threshold: float | None = 1.0
    notification_channels: Sequence[pulumi.Input[str]] = field(default_factory=list)
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    # The project the Budget API calls are billed to (quota project); default: ``project``.
    billing_project: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if self.amount_usd <= 0:
            raise ValueError(f"budget amount {self.amount_usd} must be positive (USD per month)")
        if not self.thresholds and self.forecast_threshold is None:
            raise ValueError("a budget without thresholds never alerts: give thresholds or a forecast_threshold")
        if len(self.display_name) > 60:
            raise ValueError(f"budget display name {self.display_name!r} is longer than 60 characters; shorten it")


def _money(amount: float) -> tuple[str, int]:
    """USD as the API's units (whole dollars, a string) and nanos (billionths)."""
    exact = Decimal(str(amount)).quantize(Decimal("0.000000001"), rounding=ROUND_HALF_UP)
    units = int(exact)
    return str(units), int((exact - units) * 1_000_000_000)


class BillingBudget(pulumi.ComponentResource):
    def __init__(self, name: str, args: BillingBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:BillingBudget", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        quota_project = args.billing_project if args.billing_project is not None else args.project
        api = gcp.projects.Service(
            f"{name}-api", project=quota_project, service=BUDGET_API, disable_on_destroy=False, opts=child
        )
        self.provider = gcp.Provider(
            f"{name}-quota",
            project=args.project,
            billing_project=quota_project,
            user_project_override=True,
            opts=child,
        )
        project_number = gcp.organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)).number
        units, nanos = _money(args.amount_usd)
        rules = [gcp.billing.BudgetThresholdRuleArgs(threshold_percent=t, spend_basis="CURRENT_SPEND") for t in args.thresholds]
        if args.forecast_threshold is not None:
            rules.append(gcp.billing.BudgetThresholdRuleArgs(threshold_percent=args.forecast_threshold, spend_basis="FORECASTED_SPEND"))
        self.budget = gcp.billing.Budget(
            name,
            billing_account=args.billing_account,
            display_name=args.display_name,
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(currency_code="USD", units=units, nanos=nanos)
            ),
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                projects=[project_number.apply(lambda number: f"projects/{number}")],
                calendar_period="MONTH",
            ),
            threshold_rules=rules,
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=list(args.notification_channels) or None,
                # Billing admins are always told; channels add the team's own routes.
                disable_default_iam_recipients=False,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[api, *args.depends_on]),
        )
        self.register_outputs({"budget": self.budget.name, "amount_usd": args.amount_usd})
