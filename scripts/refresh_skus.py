"""Refresh the Cloud Billing Catalog SKU snapshot the estimator prices from.

Reads which SKUs to keep from the `sku:` fields of stagewise/pricing/*.yaml (or --sku), fetches
`services/{SERVICE_ID}/skus` (https://cloud.google.com/billing/v1/how-tos/catalog-api; it needs an
API key: --key or CLOUD_BILLING_API_KEY) and writes stagewise/pricing/skus/<SERVICE_ID>.json with
today's date. Not runnable offline; tests/test_cost_skus.py runs it against a loopback server.

    uv run python scripts/refresh_skus.py --service 6F81-5844-456A [--sku ID ...] [--api URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stagewise.cost.skus import API, SNAPSHOT_DIR, SkuError, fetch_skus, make_snapshot  # noqa: E402

PRICING = ROOT / "stagewise" / "pricing"


def named_skus(pricing: Path = PRICING) -> set[str]:
    found: set[str] = set()
    for path in pricing.glob("*.yaml"):
        for row in ((yaml.safe_load(path.read_text()) or {}).get("prices") or {}).values():
            sku = row.get("sku") if isinstance(row, dict) else None
            if isinstance(sku, dict):  # location -> skuId
                found.update(str(value) for value in sku.values())
            elif sku:
                found.add(str(sku))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", required=True, help="Catalog service id, e.g. 6F81-5844-456A")
    parser.add_argument("--sku", action="append", default=[], help="skuId to keep (default: every sku: named in the price files)")
    parser.add_argument("--api", default=API, help="API root (a test points it at a loopback server)")
    parser.add_argument("--key", default=os.environ.get("CLOUD_BILLING_API_KEY"), help="API key (default: $CLOUD_BILLING_API_KEY)")
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="snapshot directory")
    args = parser.parse_args(argv)
    wanted = set(args.sku) or named_skus()
    try:
        skus = fetch_skus(args.service, api=args.api, api_key=args.key)
        present = wanted & {str(s.get("skuId")) for s in skus}
        snapshot = make_snapshot(args.service, skus, present if not args.sku else wanted, dt.date.today(), source=args.api)
    except (OSError, SkuError) as exc:
        print(f"refresh_skus: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.service}.json"
    path.write_text(json.dumps(snapshot, indent=2) + "\n")
    print(f"wrote {path} ({len(snapshot['skus'])} SKUs, read {snapshot['read']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
