"""What an estimate is made of: charges (quantity × unit price) grouped into one line per resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stagewise.stacks.config.usage import UsageProfile

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DAYS_PER_MONTH = 365 / 12

Kind = Literal["fixed", "usage"]
Status = Literal["priced", "free", "unpriced"]


@dataclass(frozen=True)
class Charge:
    """One billed quantity: (quantity − free) × unit price."""

    item: str
    quantity: float
    unit: str
    unit_price: float
    kind: Kind
    price_ref: str
    free_quantity: float = 0.0
    verified: bool = True
    source: str = ""  # "sku <id> (...)" when the unit price came from the Catalog API snapshot, else "hand-typed"

    @property
    def billable(self) -> float:
        return max(self.quantity - self.free_quantity, 0.0)

    @property
    def cost(self) -> float:
        return self.billable * self.unit_price

    def to_document(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "quantity": self.quantity,
            "freeQuantity": self.free_quantity,
            "billableQuantity": self.billable,
            "unit": self.unit,
            "unitPriceUsd": self.unit_price,
            "monthlyUsd": self.cost,
            "price": self.price_ref,
            "priceVerified": self.verified,
            "priceSource": self.source,
        }


@dataclass
class LineItem:
    """A resource's monthly cost: priced (charges), free (with the reason) or unpriced (with why)."""

    urn: str
    type: str
    name: str
    status: Status
    location: str | None = None
    charges: list[Charge] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def monthly(self) -> float:
        return sum(charge.cost for charge in self.charges)

    @property
    def fixed(self) -> float:
        return sum(charge.cost for charge in self.charges if charge.kind == "fixed")

    @property
    def usage(self) -> float:
        return sum(charge.cost for charge in self.charges if charge.kind == "usage")

    def to_document(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "status": self.status,
            "location": self.location,
            "monthlyUsd": self.monthly,
            "fixedUsd": self.fixed,
            "usageUsd": self.usage,
            "charges": [charge.to_document() for charge in self.charges],
            "assumptions": list(self.assumptions),
            "reason": self.reason or None,
        }


@dataclass
class Estimate:
    """The monthly cost of one program run."""

    project: str
    stack: str
    stage: str
    region: str
    usage: UsageProfile
    lines: list[LineItem]
    assumptions: list[str]
    sources: list[dict[str, str]]
    budget_usd: float | None = None

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def fixed(self) -> float:
        return sum(line.fixed for line in self.lines)

    @property
    def usage_total(self) -> float:
        return sum(line.usage for line in self.lines)

    @property
    def unpriced(self) -> list[LineItem]:
        return [line for line in self.lines if line.status == "unpriced"]

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.total > self.budget_usd

    def by_status(self, status: Status) -> list[LineItem]:
        return [line for line in self.lines if line.status == status]

    def to_document(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "stage": self.stage,
            "region": self.region,
            "currency": "USD",
            "monthlyUsd": self.total,
            "totalMonthlyUsd": self.total,
            "fixedUsd": self.fixed,
            "usageUsd": self.usage_total,
            "budgetUsd": self.budget_usd,
            "overBudget": self.over_budget,
            "counts": {status: len(self.by_status(status)) for status in ("priced", "free", "unpriced")},
            "unpriced": [{"type": line.type, "name": line.name, "reason": line.reason} for line in self.unpriced],
            "usage": self.usage.describe(),
            "assumptions": list(self.assumptions),
            "lines": [line.to_document() for line in self.lines],
            "priceSources": self.sources,
        }
