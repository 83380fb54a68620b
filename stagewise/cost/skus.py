"""Prices from the Cloud Billing Catalog API's SKU format, stored as a dated snapshot.

The API (https://cloud.google.com/billing/v1/how-tos/catalog-api) answers
`GET /v1/services/{SERVICE_ID}/skus?key=API_KEY` with `{"skus": [...], "nextPageToken": "..."}`;
each SKU has `skuId`, `description`, `category`, `serviceRegions` and `pricingInfo[]`, whose
`pricingExpression` holds `usageUnit` and `tieredRates[]` of `{startUsageAmount, unitPrice:
{currencyCode, units, nanos}}`. Pages hold up to 5,000 SKUs; `pageToken` fetches the next.

A snapshot (`stagewise/pricing/skus/<serviceId>.json`) keeps that shape — `skus` as the API
returned them, only those a price row names — plus `serviceId`, `read` (the date) and `source`.
A price row that names `sku: <skuId>` takes its unit price from the snapshot (times `sku_factor`
when the units differ, e.g. per GiB-hour → per GiB-month); rows without one stay hand-typed.
`scripts/refresh_skus.py` writes the snapshot where the API is reachable.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "pricing" / "skus"
API = "https://cloudbilling.googleapis.com"


class SkuError(Exception):
    """A SKU document or snapshot is not in the Catalog API's shape (names what is wrong)."""


@dataclass(frozen=True)
class Tier:
    start: float
    usd: float


@dataclass(frozen=True)
class Sku:
    sku_id: str
    description: str
    regions: tuple[str, ...]
    usage_unit: str
    tiers: tuple[Tier, ...]

    @property
    def unit_price(self) -> float:
        """The rate past any free tier: the last tier's price."""
        return self.tiers[-1].usd

    @property
    def free_quantity(self) -> float:
        """Usage billed at $0 before the first paid tier (0 when the first tier is paid)."""
        return self.tiers[1].start if len(self.tiers) > 1 and self.tiers[0].usd == 0 else 0.0


def money(value: Mapping[str, Any]) -> float:
    """A google.type.Money: units (a string of int64 in JSON) + nanos / 1e9; USD only."""
    currency = value.get("currencyCode", "USD")
    if currency != "USD":
        raise SkuError(f"unitPrice in {currency}: fetch with currencyCode=USD")
    return int(value.get("units") or 0) + int(value.get("nanos") or 0) / 1e9


def parse_sku(raw: Mapping[str, Any]) -> Sku:
    try:
        pricing = raw["pricingInfo"][-1]["pricingExpression"]
        tiers = tuple(Tier(float(t.get("startUsageAmount") or 0), money(t["unitPrice"])) for t in pricing["tieredRates"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SkuError(f"SKU {raw.get('skuId', '?')}: no pricingInfo[].pricingExpression.tieredRates ({exc})") from None
    if not tiers:
        raise SkuError(f"SKU {raw.get('skuId', '?')}: empty tieredRates")
    return Sku(str(raw["skuId"]), str(raw.get("description", "")), tuple(raw.get("serviceRegions") or ()),
               str(pricing.get("usageUnit", "")), tiers)


def fetch_skus(service_id: str, *, api: str = API, api_key: str | None = None, page_size: int = 5000,
               timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every SKU of a service, following nextPageToken."""
    skus: list[dict[str, Any]] = []
    token = ""
    for _ in range(1000):
        query = {"pageSize": str(page_size), "currencyCode": "USD", **({"pageToken": token} if token else {}),
                 **({"key": api_key} if api_key else {})}
        url = f"{api.rstrip('/')}/v1/services/{urllib.parse.quote(service_id)}/skus?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https or a test's loopback
            page = json.load(response)
        if not isinstance(page, dict) or not isinstance(page.get("skus", []), list):
            raise SkuError(f"{url}: not a services.skus.list response")
        skus.extend(page.get("skus", []))
        token = str(page.get("nextPageToken") or "")
        if not token:
            return skus
    raise SkuError(f"services/{service_id}/skus: more than 1,000 pages")


def make_snapshot(service_id: str, skus: Iterable[Mapping[str, Any]], wanted: Iterable[str], read: dt.date,
                  source: str = API) -> dict[str, Any]:
    wanted_ids = set(wanted)
    kept = [dict(s) for s in skus if s.get("skuId") in wanted_ids]
    missing = sorted(wanted_ids - {s["skuId"] for s in kept})
    if missing:
        raise SkuError(f"services/{service_id}/skus has no SKU {', '.join(missing)}")
    for sku in kept:
        parse_sku(sku)  # refuse a snapshot the estimator could not read
    return {"serviceId": service_id, "read": read.isoformat(), "source": f"{source}/v1/services/{service_id}/skus", "skus": kept}


def load_snapshots(directory: Path = SNAPSHOT_DIR) -> dict[str, tuple[Sku, str]]:
    """skuId → (SKU, read date) from every snapshot file."""
    found: dict[str, tuple[Sku, str]] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or "read" not in document or not isinstance(document.get("skus"), list):
            raise SkuError(f"{path.name}: a snapshot needs serviceId, read and skus")
        for raw in document["skus"]:
            sku = parse_sku(raw)
            found[sku.sku_id] = (sku, str(document["read"]))
    return found
