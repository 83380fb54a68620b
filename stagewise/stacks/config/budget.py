"""`stagewise:budget` — a monthly spending cap per stage, with alert thresholds.

With a billing account configured, the stack declares a Cloud Billing budget scoped to its project
that alerts at each threshold; the offline review warns whenever the cost estimate exceeds
`monthlyUsd`, billing account or not. The deployer needs roles/billing.costsManager on that billing
account (the bootstrap grants it when `bootstrap:billingAccount` is set), and the Budget API is
called with `billingProject` as its quota project (stagewise/components/budget.py explains why).
"""

from __future__ import annotations

import re

from typing import Any

from pydantic import AliasChoices, Field, field_validator, model_validator

from stagewise.stacks.config.base import Section

_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
# Shapes from documentation and error messages, never a real account (one repeated character is caught too).
_EXAMPLE_ACCOUNTS = frozenset({"012345-6789AB-CDEF01", "012345-67890A-BCDEF0", "123456-123456-123456", "ABCDEF-ABCDEF-ABCDEF"})


class BudgetConfig(Section):
    """Budget of one stage (USD per calendar month)."""

    monthly_usd: float | None = Field(
        None, gt=0, le=1_000_000, description="budget_monthly_usd: monthly budget in USD",
        validation_alias=AliasChoices("monthlyUsd", "monthly_usd", "budgetMonthlyUsd", "budget_monthly_usd"),
    )
    billing_account: str | None = Field(
        None, description="billing account id (three groups of six letters or digits, like 01A2B3-C4D5E6-F7A8B9); without it no budget resource is declared"
    )
    thresholds: list[float] = Field(
        default_factory=lambda: [0.5, 0.9, 1.0],
        description="alert at these fractions of the budget (actual spend), e.g. [0.5, 0.9, 1.0]",
    )
    forecast_threshold: float | None = Field(
        1.0, gt=0, le=10, description="also alert when forecast spend reaches this fraction (null: off)"
    )
    billing_project: str | None = Field(
        None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$",
        description="project the Budget API calls are billed to (quota project); default gcp:project, where the stack "
        "enables billingbudgets.googleapis.com",
    )
    notification_channels: list[str] = Field(
        default_factory=list,
        description="Cloud Monitoring notification channel ids (projects/…/notificationChannels/…) to alert",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_amount(cls, value: Any) -> Any:
        """`stagewise:budget: 60` is short for `stagewise:budget: {monthlyUsd: 60}`."""
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return {"monthlyUsd": float(value)}
            except ValueError:
                raise ValueError(f"{value!r} is not an amount; write budget as a number of USD or {{monthlyUsd: N, ...}}") from None
        return value

    @field_validator("billing_account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _BILLING_ACCOUNT.match(value):
            raise ValueError(
                f"{value!r} is not a billing account id; write it like 012345-6789AB-CDEF01 "
                "(`gcloud billing accounts list`)"
            )
        if value is not None and (value in _EXAMPLE_ACCOUNTS or len(set(value.replace("-", ""))) == 1):
            raise ValueError(
                f"{value!r} is a placeholder billing account, not yours; put the id `gcloud billing accounts list` shows"
            )
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[float]) -> list[float]:
        for fraction in value:
            if not 0 < fraction <= 10:
                raise ValueError(f"threshold {fraction} is outside (0, 10]; give fractions of the budget such as 0.5 or 1.0")
        if len(set(value)) != len(value):
            raise ValueError("thresholds repeat a value; list each fraction once")
        return sorted(value)

    @field_validator("notification_channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not re.match(r"^projects/[^/]+/notificationChannels/[^/]+$", channel):
                raise ValueError(f"{channel!r}: write a channel as projects/PROJECT/notificationChannels/ID")
        return value

    @model_validator(mode="after")
    def _needs_amount(self) -> "BudgetConfig":
        if self.billing_account and self.monthly_usd is None:
            raise ValueError("billingAccount is set but monthlyUsd is not: set budget.monthlyUsd to the monthly cap in USD")
        return self
