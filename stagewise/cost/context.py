"""What a price rule can see: the program run, the usage profile, the price book, free-tier pools."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stagewise.cost.model import DAYS_PER_MONTH, Charge, Kind, LineItem
from stagewise.cost.prices import NoPrice, PriceBook
from stagewise.engine.record import DeclaredResource, ProgramRun
from stagewise.stacks.config.usage import UsageProfile


@dataclass
class Context:
    run: ProgramRun
    usage: UsageProfile
    book: PriceBook
    region: str
    free_used: dict[tuple[str, str, str], float] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def custom(self) -> list[DeclaredResource]:
        return [r for r in self.run.resources if r.custom]

    def of_types(self, *tokens: str) -> list[DeclaredResource]:
        return [r for r in self.run.resources if r.custom and r.type in tokens]

    def by_urn(self, urn: str) -> DeclaredResource | None:
        for resource in self.run.resources:
            if resource.urn == urn:
                return resource
        return None

    def linked(self, resource: DeclaredResource, *tokens: str) -> list[DeclaredResource]:
        """Resources of the given types that ``resource`` depends on (explicitly or through an input)."""
        urns: list[str] = list(resource.dependencies)
        for deps in resource.property_dependencies.values():
            urns.extend(deps)
        found: list[DeclaredResource] = []
        for urn in dict.fromkeys(urns):
            target = self.by_urn(urn)
            if target is not None and target.type in tokens:
                found.append(target)
        return found

    def dependents(self, resource: DeclaredResource, *tokens: str) -> list[DeclaredResource]:
        """Resources of the given types that depend on ``resource``."""
        return [r for r in self.of_types(*tokens) if resource in self.linked(r, resource.type)]

    def next_count(self, counter: str) -> int:
        """1, 2, 3… for each call with the same counter (tiered per-project prices)."""
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    def charge(
        self,
        family: str,
        price_id: str,
        location: str,
        item: str,
        quantity: float,
        kind: Kind,
        *,
        free: bool = True,
        free_pool: str = "",
    ) -> Charge:
        """Quantity × the list price, less what is left of the item's free tier (shared stack-wide)."""
        price = self.book.entry(family, price_id)
        try:
            unit_price = price.at(location)
        except NoPrice:
            raise NoPrice(f"{family}.{price_id} has no price for {location} (stagewise/pricing/{family}.yaml)") from None
        free_total = price.free_at(location) + price.free_per_day * DAYS_PER_MONTH if free else 0.0
        key = (family, price_id, free_pool)
        remaining = max(free_total - self.free_used.get(key, 0.0), 0.0)
        applied = min(remaining, max(quantity, 0.0))
        self.free_used[key] = self.free_used.get(key, 0.0) + applied
        where = location if location in price.price else "global"
        return Charge(
            item=item,
            quantity=quantity,
            unit=price.unit,
            unit_price=unit_price,
            kind=kind,
            price_ref=f"{family}.{price_id}@{where}",
            free_quantity=applied,
            verified=price.verified,
            source=self._origin(family, price_id, location),
        )

    def _origin(self, family: str, price_id: str, location: str) -> str:
        """The SKU a price came from, or "hand-typed from <the price file's Google page>"."""
        origin = self.book.entry(family, price_id).origin(location)
        return origin if origin != "hand-typed" else f"hand-typed from {self.book.file(family).source}"

    def line(
        self,
        resource: DeclaredResource,
        location: str | None,
        build: Callable[[list[Charge], list[str]], None],
        *,
        name: str | None = None,
        type_token: str | None = None,
    ) -> LineItem:
        """A priced line from ``build(charges, assumptions)``; a missing price makes it unpriced."""
        charges: list[Charge] = []
        assumptions: list[str] = []
        line = LineItem(urn=resource.urn, type=type_token or resource.type, name=name or resource.name,
                        status="priced", location=location)
        try:
            build(charges, assumptions)
        except NoPrice as exc:
            line.status = "unpriced"
            line.reason = f"no list price: {exc}"
            line.assumptions = assumptions
            return line
        line.charges = charges
        line.assumptions = assumptions
        return line
