"""Cloud Billing: billing account ids, budget amounts and thresholds, filters, notifications, quota project."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stagewise.readiness.inventory import UNKNOWN, Inventory, Resource, as_list, is_unknown, number
from stagewise.readiness.model import BLOCKS, RISK, Problem
from stagewise.readiness.rules import rule
from stagewise.readiness.rules.storage import mapping, offline_ids, text, truthy

BUDGET = "gcp:billing/budget:Budget"
PROJECT_INFO = "gcp:billing/projectInfo:ProjectInfo"
ACCOUNT_IAM = ("gcp:billing/accountIamMember:AccountIamMember", "gcp:billing/accountIamBinding:AccountIamBinding")
GCP_PROVIDER = "pulumi:providers:gcp"

# https://cloud.google.com/billing/docs/how-to/find-billing-account-id: "The billing account ID is an
# 18-character alpha-numeric value. For example: 010101-F0FFF0-10XX01" (the API writes it 012345-567890-ABCDEF).
BILLING_ACCOUNT = re.compile(r"^(billingAccounts/)?([0-9A-Z]{6}-[0-9A-Z]{6}-[0-9A-Z]{6})$")
# The documentation's own examples and all-same-character ids: never a real account.
PLACEHOLDER_ACCOUNTS = frozenset({"012345-567890-ABCDEF", "010101-F0FFF0-10XX01"})
_REPEATED = re.compile(r"^([0-9A-Z])\1{5}-\1{6}-\1{6}$")

# pulumi_gcp 10.2 BudgetArgs.display_name: "Must be <= 60 chars."; BudgetAllUpdatesRuleArgs
# .monitoring_notification_channels: "A maximum of 5 channels are allowed."; .schema_version: "Only "1.0" is
# accepted"; BudgetThresholdRuleArgs.threshold_percent: "Must be >= 0."
# (https://cloud.google.com/python/docs/reference/billingbudgets/latest/google.cloud.billing.budgets_v1.types.NotificationsRule:
# "A maximum of 5 email notifications are allowed.")
DISPLAY_NAME_MAX = 60
CHANNELS_MAX = 5
_CHANNEL = re.compile(r"^projects/[^/]+/notificationChannels/[^/]+$")
_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")
_PROJECT_NUMBER = re.compile(r"^projects/[0-9]+$")


def account_problem(value: str) -> str | None:
    match = BILLING_ACCOUNT.match(value.strip())
    if not match:
        return "it is not a billing account id (18 letters and digits in three groups of six, like 01A2B3-C4D5E6-F7A8B9)"
    account = match.group(2)
    if account in PLACEHOLDER_ACCOUNTS or _REPEATED.match(account):
        return "it is a placeholder, not a real billing account"
    return None


@rule(
    "billing-account-id", types=(BUDGET, PROJECT_INFO, *ACCOUNT_IAM), severity=BLOCKS,
    title="the billing account is not an account id, or is a placeholder such as 000000-000000-000000",
    source="https://cloud.google.com/billing/docs/how-to/find-billing-account-id",
)
def account_id(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    key = "billingAccountId" if resource.type in ACCOUNT_IAM else "billingAccount"
    value = text(resource.get(key))
    if value is None:
        return
    wrong = account_problem(value)
    if wrong:
        yield Problem(
            key, f"{resource.name}: billing account {value!r} can't be used: {wrong}; the Billing API answers "
            "403/404 for an account that does not exist or you can't see",
            "set the real id from `gcloud billing accounts list` (ACCOUNT_ID column, e.g. 01A2B3-C4D5E6-F7A8B9)",
        )


@rule(
    "billing-budget-amount", types=(BUDGET,), severity=BLOCKS,
    title="the budget amount is not exactly one of a specified amount or last period's, or a threshold is negative",
    source="https://app.unpkg.com/@pulumi/gcp@9.0.0/files/billing/budget.d.ts",
)
def budget_amount(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    amount = resource.get("amount")
    if not is_unknown(amount):
        given = mapping(amount)
        specified, last = given.get("specifiedAmount"), given.get("lastPeriodAmount")
        if (specified is None) == (last is None or last is False):
            yield Problem(
                "amount", f"{resource.name}: the amount must set exactly one of specified_amount and last_period_amount=True",
                "set amount=BudgetAmountArgs(specified_amount=BudgetAmountSpecifiedAmountArgs(units='100')) "
                "(or last_period_amount=True)",
            )
        elif specified is not None:
            units = mapping(specified).get("units")
            if units is not None and not is_unknown(units) and not re.fullmatch(r"-?[0-9]+", str(units).strip().removesuffix(".0")):
                yield Problem(
                    "amount.specifiedAmount.units", f"{resource.name}: units {units!r} is not a whole number of the "
                    "currency (cents go in nanos)", "write units as a string of whole units, e.g. '800', and the fraction in nanos",
                )
    for index, threshold in enumerate(as_list(resource.get("thresholdRules"))):
        percent = number(mapping(threshold).get("thresholdPercent"))
        if percent is not None and percent < 0:
            yield Problem(
                f"thresholdRules[{index}].thresholdPercent", f"{resource.name}: threshold {percent:g} is negative; "
                "thresholds are fractions of the budget (0.5 = 50%), at least 0", "use e.g. 0.5, 0.9 and 1.0",
            )
    name = text(resource.get("displayName"))
    if name is not None and len(name) > DISPLAY_NAME_MAX:
        yield Problem("displayName", f"{resource.name}: display name is {len(name)} characters; at most {DISPLAY_NAME_MAX}",
                      f"shorten display_name to {DISPLAY_NAME_MAX} characters")


@rule(
    "billing-budget-projects", types=(BUDGET,), severity=BLOCKS,
    title="the budget filter names a project by id, or not as projects/<number>",
    # The API keeps projects/<number>: a project id shows as a change on every later deploy
    # (https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/issues/2365) and updating the budget
    # with it is refused: "Error 400: Request contains an invalid argument." (https://github.com/pulumi/pulumi-gcp/issues/514)
    source="https://github.com/pulumi/pulumi-gcp/issues/514",
)
def budget_projects(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    for index, project in enumerate(as_list(resource.get("budgetFilter.projects"))):
        if not isinstance(project, str) or project == UNKNOWN or _PROJECT_NUMBER.match(project):
            continue
        yield Problem(
            f"budgetFilter.projects[{index}]", f"{resource.name}: budget filter entry {project!r} is not projects/<number>: "
            "the API stores the project number, so every later deploy tries to change it back and the update is refused",
            "pass the project number: gcp.organizations.get_project_output(project_id=...).number.apply(lambda n: f'projects/{n}')",
        )


@rule(
    "billing-budget-notifications", types=(BUDGET,), severity=BLOCKS,
    title="more than 5 notification channels, a malformed channel or topic, or a topic without schema 1.0",
    source="https://cloud.google.com/python/docs/reference/billingbudgets/latest/google.cloud.billing.budgets_v1.types.NotificationsRule",
)
def budget_notifications(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    rule_ = mapping(resource.get("allUpdatesRule"))
    invented = offline_ids(inventory)
    channels = rule_.get("monitoringNotificationChannels")
    if not is_unknown(channels) and len(as_list(channels)) > CHANNELS_MAX:
        yield Problem(
            "allUpdatesRule.monitoringNotificationChannels", f"{resource.name} lists {len(as_list(channels))} notification "
            f"channels; a budget takes at most {CHANNELS_MAX}", f"keep {CHANNELS_MAX} channels (use a group email channel for more people)",
        )
    for index, channel in enumerate(as_list(channels)):
        if isinstance(channel, str) and channel != UNKNOWN and channel not in invented and not _CHANNEL.match(channel):
            yield Problem(
                f"allUpdatesRule.monitoringNotificationChannels[{index}]", f"{resource.name}: {channel!r} is not a "
                "channel name (projects/<project>/notificationChannels/<id>)", "pass the NotificationChannel's name output",
            )
    topic = rule_.get("pubsubTopic")
    if isinstance(topic, str) and topic != UNKNOWN:
        if topic not in invented and not _TOPIC.match(topic):
            yield Problem("allUpdatesRule.pubsubTopic", f"{resource.name}: {topic!r} is not projects/<project>/topics/<topic>",
                          "pass the Topic's id output")
        schema = rule_.get("schemaVersion")
        if schema is not None and not is_unknown(schema) and schema != "1.0":
            yield Problem("allUpdatesRule.schemaVersion", f"{resource.name}: schema version {schema!r}; only '1.0' is accepted",
                          "set schema_version='1.0' (or leave it out)")


def _provider_of(resource: Resource, inventory: Inventory) -> Resource | None:
    """The explicit gcp provider a resource is created with (its reference is "<provider urn>::<id>")."""
    reference = resource.declared.provider
    if not reference:
        return None
    for candidate in inventory.of_type(GCP_PROVIDER):
        if reference == candidate.urn or reference.startswith(candidate.urn + "::"):
            return candidate
    return None


def _flag(value: Any) -> bool:
    return truthy(value) or value == 1


@rule(
    "billing-quota-project", types=(BUDGET,), severity=RISK,
    title="the Budgets API is called without a billing project: with user credentials it answers 403",
    # "If you are using User ADCs (Application Default Credentials) with this resource, you must specify a
    # billingProject and set userProjectOverride to true in the provider configuration. Otherwise the Billing
    # Budgets API will return a 403 error." (the provider's Budget docs; also
    # https://github.com/hashicorp/terraform-provider-google/issues/7948)
    source="https://app.unpkg.com/@pulumi/gcp@9.0.0/files/billing/budget.d.ts",
)
def quota_project(resource: Resource, inventory: Inventory) -> Iterator[Problem]:
    provider = _provider_of(resource, inventory)
    if provider is not None:
        billing_project, override = provider.get("billingProject"), provider.get("userProjectOverride")
        where = f"provider {provider.name}"
    else:
        billing_project = inventory.run.config.get("gcp:billingProject")
        override = inventory.run.config.get("gcp:userProjectOverride")
        where = "the stack's gcp provider config"
    if is_unknown(billing_project) or (text(billing_project) and _flag(override)):
        return
    yield Problem(
        "provider", f"{resource.name} is created through {where}, which sets no billingProject with userProjectOverride: "
        "run with user credentials (gcloud auth application-default login), the Budgets API refuses the call (403, "
        "quota project required); a service account deployer is not affected",
        "set `pulumi config set gcp:billingProject <project where billingbudgets.googleapis.com is enabled>` and "
        "`pulumi config set gcp:userProjectOverride true` (or deploy as a service account)",
    )
