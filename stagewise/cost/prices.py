"""List prices from `stagewise/pricing/*.yaml`: one file a service family, each with its source.

A price is looked up by family, id and location. A location with no row is an error the
estimator turns into an "unpriced" line — a missing price never becomes zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stagewise import fast_yaml

PRICING_DIR = Path(__file__).resolve().parent.parent / "pricing"
GLOBAL = "global"


class PricingError(Exception):
    """A price file is malformed (names the file and key)."""


class NoPrice(LookupError):
    """No list price for this item in this location."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    unit: str
    what: str
    price: dict[str, float] = Field(description="location -> USD per unit; 'global' applies everywhere")
    free: float = 0.0
    free_per_day: float = 0.0
    free_scope: str | None = None
    free_regions: list[str] | None = None
    verified: bool = Field(description=(
        "the hand-typed figure was seen on Google's page; the loader also marks verified a row whose every "
        "location is priced from a SKU of the stored Catalog API snapshot"))
    note: str | None = None
    sku: str | dict[str, str] | None = Field(None, description=(
        "Cloud Billing Catalog skuId: the price in each of the SKU's serviceRegions comes from the stored SKU "
        "snapshot; or location -> skuId, pricing exactly those locations (a SKU per region, or a snapshot whose "
        "source kept no serviceRegions). Locations no SKU covers stay hand-typed"))
    sku_factor: float = Field(1.0, gt=0, description="SKU unit price × this = the row's unit price (unit conversion)")
    from_sku: dict[str, str] = Field(default_factory=dict, description=(
        "filled by the loader, never in a price file: location -> the SKU and snapshot date its price came from"))

    @field_validator("price")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("price needs at least one location")
        for location, amount in value.items():
            if amount < 0:
                raise ValueError(f"price for {location} is negative")
        return value

    def at(self, location: str) -> float:
        if location in self.price:
            return self.price[location]
        if GLOBAL in self.price:
            return self.price[GLOBAL]
        raise NoPrice(location)

    def origin(self, location: str) -> str:
        """Where the price at this location came from: a SKU of the stored snapshot, or typed by hand."""
        where = location if location in self.price else GLOBAL
        return f"sku {self.from_sku[where]}" if where in self.from_sku else "hand-typed"

    @property
    def hand_typed(self) -> bool:
        """No location of this row is priced from a SKU."""
        return not self.from_sku

    def free_at(self, location: str) -> float:
        if self.free_regions is not None and location not in self.free_regions:
            return 0.0
        return self.free


class Surface(_Strict):
    """A model's lifecycle on one API surface (Vertex AI or the Gemini API)."""

    status: str = Field(pattern=r"^(ga|preview|deprecated|retired)$")
    retirement: dt.date | None = None
    shutdown: dt.date | None = None
    retirement_note: str | None = None
    source: str


class ModelInfo(_Strict):
    vertex: Surface
    gemini_api: Surface
    replacement: str | None = None
    regions: str | list[str] = "unverified"


class PriceFile(_Strict):
    family: str
    service: str
    source: str
    read: dt.date
    notes: str | None = None
    prices: dict[str, Price] = Field(default_factory=dict)
    bundled_accelerators: dict[str, dict[str, int]] = Field(default_factory=dict)
    types: dict[str, str] = Field(default_factory=dict)
    suffixes: dict[str, str] = Field(default_factory=dict)
    prefixes: dict[str, str] = Field(default_factory=dict)
    models: dict[str, ModelInfo] = Field(default_factory=dict)

    @field_validator("source")
    @classmethod
    def _google_source(cls, value: str) -> str:
        if not value.startswith("https://cloud.google.com/"):
            raise ValueError(f"source {value!r} must be a page on https://cloud.google.com/")
        return value


class PriceBook:
    """All price files, by family."""

    def __init__(self, files: dict[str, PriceFile]) -> None:
        self.files = files

    def file(self, family: str) -> PriceFile:
        try:
            return self.files[family]
        except KeyError:
            raise PricingError(f"no price file for family {family!r} in {PRICING_DIR}") from None

    def entry(self, family: str, price_id: str) -> Price:
        prices = self.file(family).prices
        if price_id not in prices:
            raise NoPrice(f"{family}.{price_id}")
        return prices[price_id]

    def has(self, family: str, price_id: str) -> bool:
        return family in self.files and price_id in self.files[family].prices

    def free_reason(self, type_token: str) -> str | None:
        free = self.files.get("free")
        if free is None:
            return None
        if type_token in free.types:
            return free.types[type_token]
        for suffix, reason in free.suffixes.items():
            if type_token.endswith(suffix):
                return reason
        for prefix, reason in free.prefixes.items():
            if type_token.startswith(prefix):
                return reason
        return None

    def sources(self) -> list[dict[str, str]]:
        return [
            {"family": f.family, "service": f.service, "source": f.source, "read": f.read.isoformat()}
            for f in sorted(self.files.values(), key=lambda f: f.family)
        ]


def load_price_file(path: Path) -> PriceFile:
    try:
        document = fast_yaml.safe_load(path.read_text())
        return PriceFile.model_validate(document)
    except yaml.YAMLError as exc:
        raise PricingError(f"{path.name}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PricingError(f"{path.name}: {problems}") from None


def apply_skus(price_file: PriceFile, snapshots: Mapping[str, tuple[Any, str]]) -> PriceFile:
    """Rows naming a `sku` take their unit price from the snapshot, location by location.

    `sku: ID` prices each of the SKU's serviceRegions (every location when it lists none); `sku: {location:
    ID}` prices exactly those locations. A location no SKU covers keeps its hand-typed price, and the row is
    marked verified only when every location it lists (or `global`) now comes from a SKU.
    """
    prices = dict(price_file.prices)
    for price_id, row in price_file.prices.items():
        if row.from_sku:
            raise PricingError(f"{price_file.family}.{price_id}: from_sku is filled from the snapshot, not typed")
        if row.sku is None:
            continue

        def lookup(sku_id: str, price_id: str = price_id) -> tuple[Any, str]:
            if sku_id not in snapshots:
                raise PricingError(f"{price_file.family}.{price_id}: sku {sku_id} is in no snapshot in stagewise/pricing/skus/")
            return snapshots[sku_id]

        if isinstance(row.sku, dict):
            pairs = list(row.sku.items())
        else:
            sku, _ = lookup(row.sku)
            pairs = [(region, row.sku) for region in (list(sku.regions) or [GLOBAL])]
        price = dict(row.price)
        origin: dict[str, str] = {}
        for location, sku_id in pairs:
            sku, read = lookup(sku_id)
            price[location] = sku.unit_price * row.sku_factor
            origin[location] = f"{sku_id} ({sku.description}), Catalog API snapshot read {read}"
        hand = [] if GLOBAL in origin else [location for location in row.price if location not in origin]
        by_sku: dict[str, list[str]] = {}
        for location, text in origin.items():
            by_sku.setdefault(text, []).append(location)
        note = "; ".join(f"{', '.join(locations)} from SKU {text}" for text, locations in by_sku.items())
        if hand:
            note += f"; hand-typed for {', '.join(hand)}" + (f": {row.note}" if row.note else "")
        prices[price_id] = row.model_copy(update={
            "price": price, "from_sku": origin, "verified": row.verified or not hand, "note": note,
        })
    return price_file.model_copy(update={"prices": prices})


def load_price_book(directory: Path = PRICING_DIR, sku_dir: Path | None = None) -> PriceBook:
    from stagewise.cost.skus import SNAPSHOT_DIR, load_snapshots

    snapshots = load_snapshots(sku_dir or (directory / "skus" if directory != PRICING_DIR else SNAPSHOT_DIR))
    files: dict[str, PriceFile] = {}
    for path in sorted(directory.glob("*.yaml")):
        price_file = apply_skus(load_price_file(path), snapshots)
        if price_file.family in files:
            raise PricingError(f"{path.name}: family {price_file.family!r} already defined by another file")
        files[price_file.family] = price_file
    return PriceBook(files)


@lru_cache(maxsize=1)
def default_price_book() -> PriceBook:
    return load_price_book()
