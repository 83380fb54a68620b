"""The Catalog API snapshot: fetched from a loopback server speaking the services.skus.list shape,
stored with its date, and read back into the price book the estimate uses."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from stagewise.cost.estimate import estimate_run
from stagewise.cost.prices import PRICING_DIR, PricingError, load_price_book
from stagewise.cost.skus import SNAPSHOT_DIR, SkuError, fetch_skus, load_snapshots, make_snapshot, parse_sku
from stagewise.engine.record import run_stack

ROOT = Path(__file__).resolve().parent.parent


def sku(sku_id: str, description: str, regions: list[str], tiers: list[tuple[float, int, int]], unit: str = "GiBy") -> dict[str, Any]:
    """One SKU as https://cloud.google.com/billing/v1/how-tos/catalog-api shows it."""
    return {
        "name": f"services/FAKE-SVC/skus/{sku_id}", "skuId": sku_id, "description": description,
        "category": {"serviceDisplayName": "Networking", "resourceFamily": "Network", "resourceGroup": "NAT", "usageType": "OnDemand"},
        "serviceRegions": regions,
        "pricingInfo": [{
            "effectiveTime": "2026-12-01T00:00:00Z", "summary": "",
            "pricingExpression": {
                "usageUnit": unit, "usageUnitDescription": "gibibyte", "baseUnit": "By", "displayQuantity": 1,
                "tieredRates": [{"startUsageAmount": start, "unitPrice": {"currencyCode": "USD", "units": str(units), "nanos": nanos}}
                                for start, units, nanos in tiers],
            },
            "aggregationInfo": {"aggregationLevel": "ACCOUNT", "aggregationInterval": "MONTHLY", "aggregationCount": 1},
            "currencyConversionRate": 1,
        }],
        "serviceProviderName": "Google",
    }


PAGES = {
    "": {"skus": [sku("AAAA-1111-BBBB", "NAT Gateway: data processing", ["us-central1", "europe-west1"], [(0, 0, 46_000_000)])],
         "nextPageToken": "page-2"},
    "page-2": {"skus": [sku("CCCC-2222-DDDD", "Egress with a free tier", ["global"], [(0, 0, 0), (1, 0, 120_000_000)]),
                        sku("EEEE-3333-FFFF", "unrelated", ["us-east1"], [(0, 1, 500_000_000)])]},
}


class CatalogHandler(BaseHTTPRequestHandler):
    seen: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        query = parse_qs(url.query)
        CatalogHandler.seen.append(query)
        if url.path != "/v1/services/FAKE-SVC/skus":
            self.send_error(404)
            return
        body = json.dumps(PAGES[query.get("pageToken", [""])[0]]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


@pytest.fixture
def catalog() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), CatalogHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_follows_next_page_token_and_parses_money(catalog: str) -> None:
    CatalogHandler.seen = []
    skus = fetch_skus("FAKE-SVC", api=catalog, api_key="k", timeout=5)
    assert [s["skuId"] for s in skus] == ["AAAA-1111-BBBB", "CCCC-2222-DDDD", "EEEE-3333-FFFF"]
    assert [q.get("pageToken") for q in CatalogHandler.seen] == [None, ["page-2"]]
    assert CatalogHandler.seen[0]["key"] == ["k"] and CatalogHandler.seen[0]["currencyCode"] == ["USD"]
    nat = parse_sku(skus[0])
    assert nat.unit_price == pytest.approx(0.046) and nat.regions == ("us-central1", "europe-west1")
    egress = parse_sku(skus[1])
    assert egress.unit_price == pytest.approx(0.12) and egress.free_quantity == 1  # $0 up to 1 GiB


def test_the_refresh_script_writes_a_dated_snapshot_of_the_named_skus(catalog: str, tmp_path: Path) -> None:
    out = tmp_path / "skus"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "refresh_skus.py"), "--service", "FAKE-SVC",
                             "--sku", "AAAA-1111-BBBB", "--api", catalog, "--key", "k", "--out", str(out)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    snapshot = json.loads((out / "FAKE-SVC.json").read_text())
    assert snapshot["read"] == dt.date.today().isoformat() and [s["skuId"] for s in snapshot["skus"]] == ["AAAA-1111-BBBB"]
    assert snapshot["skus"][0]["pricingInfo"][0]["pricingExpression"]["tieredRates"]  # the API's own shape, kept
    missing = subprocess.run([sys.executable, str(ROOT / "scripts" / "refresh_skus.py"), "--service", "FAKE-SVC",
                              "--sku", "NOPE-0000-0000", "--api", catalog, "--out", str(out)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 1 and "NOPE-0000-0000" in missing.stderr


def test_a_row_naming_a_sku_is_priced_from_the_snapshot(tmp_path: Path) -> None:
    pricing = tmp_path / "pricing"
    shutil.copytree(PRICING_DIR, pricing)  # with the stored snapshots the other rows name
    nat = pricing / "cloud_nat.yaml"
    nat.write_text(nat.read_text().replace("    what: data processed by the gateway, both directions\n",
                                           "    what: data processed by the gateway, both directions\n    sku: AAAA-1111-BBBB\n"))
    snapshot = make_snapshot("FAKE-SVC", PAGES[""]["skus"], ["AAAA-1111-BBBB"], dt.date(2026, 12, 1))
    (pricing / "skus" / "FAKE-SVC.json").write_text(json.dumps(snapshot))
    row = load_price_book(pricing).entry("cloud_nat", "data")
    assert row.at("us-central1") == pytest.approx(0.046) and row.at("europe-west1") == pytest.approx(0.046)
    assert row.verified and "2026-12-01" in (row.note or "")
    # a row naming a SKU that no snapshot holds is an error, never a silent hand-typed price
    (pricing / "skus" / "FAKE-SVC.json").unlink()
    with pytest.raises(PricingError, match="AAAA-1111-BBBB"):
        load_price_book(pricing)


def test_a_snapshot_that_is_not_the_api_shape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"skus": [{"skuId": "X"}], "read": "2026-12-01"}))
    with pytest.raises(SkuError, match="tieredRates"):
        load_snapshots(tmp_path)


# --- the stored snapshots (stagewise/pricing/skus/) and the rows that name them ---------------------------

def _stored_rows() -> list[tuple[str, str, Any]]:
    book = load_price_book()
    return [(family, price_id, row) for family, price_file in book.files.items()
            for price_id, row in price_file.prices.items() if row.sku is not None]


def test_every_row_naming_a_sku_is_priced_from_the_stored_snapshot() -> None:
    snapshots = load_snapshots()
    rows = _stored_rows()
    assert {family for family, _, _ in rows} >= {"cloud_storage", "compute"}
    for family, price_id, row in rows:
        named = row.sku if isinstance(row.sku, dict) else {region: row.sku for region in snapshots[row.sku][0].regions}
        assert named, f"{family}.{price_id}"
        for location, sku_id in named.items():
            sku, read = snapshots[sku_id]
            assert row.at(location) == pytest.approx(sku.unit_price * row.sku_factor), f"{family}.{price_id}@{location}"
            assert row.origin(location).startswith(f"sku {sku_id} ") and read in row.origin(location)


def test_a_location_no_sku_covers_stays_hand_typed_and_unverified() -> None:
    book = load_price_book()
    class_a = book.entry("cloud_storage", "class_a")  # US/EU: the snapshot's multi-region SKU disagrees, older
    assert class_a.origin("us-central1").startswith("sku 4DBF-185F-A415")
    assert class_a.origin("US") == "hand-typed" and class_a.at("US") == pytest.approx(0.00001)
    assert not class_a.verified and "hand-typed for US, EU" in (class_a.note or "")
    assert book.entry("cloud_storage", "class_b").verified  # every location from a SKU
    nat = book.entry("cloud_nat", "data")
    assert nat.hand_typed and nat.origin("us-central1") == "hand-typed"


def test_each_snapshot_names_its_source_and_date_and_keeps_the_api_shape() -> None:
    paths = sorted(SNAPSHOT_DIR.glob("*.json"))
    assert {p.stem for p in paths} >= {"95FF-2EF5-5EA1", "6F81-5844-456A"}
    for path in paths:
        document = json.loads(path.read_text())
        assert document["serviceId"] == path.stem
        dt.date.fromisoformat(document["read"])
        assert document["source"].startswith("https://")
        assert "not read from the api by us" in document.get("provenance", "").lower()
        for raw in document["skus"]:
            assert raw["pricingInfo"][-1]["pricingExpression"]["tieredRates"], raw["skuId"]


def test_the_estimate_takes_sku_backed_prices_from_the_snapshot_not_the_yaml(tmp_path: Path) -> None:
    """Double two SKUs in a copy of the stored snapshot: the MVP's bucket line follows them; a hand-typed row does not."""
    pricing = tmp_path / "pricing"
    shutil.copytree(PRICING_DIR, pricing)
    path = pricing / "skus" / "95FF-2EF5-5EA1.json"
    document = json.loads(path.read_text())
    for raw in document["skus"]:
        if raw["skuId"] in ("E5F0-6A5D-7BAD", "4DBF-185F-A415"):
            for rate in raw["pricingInfo"][-1]["pricingExpression"]["tieredRates"]:
                rate["unitPrice"]["nanos"] *= 2
    path.write_text(json.dumps(document))
    stored, perturbed = load_price_book(), load_price_book(pricing)
    assert perturbed.entry("cloud_storage", "standard").at("us-central1") == pytest.approx(0.04)
    assert perturbed.entry("cloud_storage", "standard").at("US") == stored.entry("cloud_storage", "standard").at("US")

    run = run_stack("mvp")
    before, after = estimate_run(run), estimate_run(run, book=perturbed)

    def charges(estimate: Any) -> dict[str, Any]:
        line = next(line for line in estimate.lines if line.name == "buckets-data")
        return {charge.price_ref: charge for charge in line.charges}

    old, new = charges(before), charges(after)
    a_ref, std_ref, b_ref = ("cloud_storage.class_a@us-central1", "cloud_storage.standard@us-central1",
                             "cloud_storage.class_b@us-central1")
    assert new[std_ref].unit_price == pytest.approx(2 * old[std_ref].unit_price)
    assert new[a_ref].cost == pytest.approx(2 * old[a_ref].cost) and old[a_ref].cost > 0
    assert new[b_ref].unit_price == old[b_ref].unit_price  # a SKU not perturbed
    assert new[a_ref].source.startswith("sku 4DBF-185F-A415")
    assert new[a_ref].to_document()["priceSource"] == new[a_ref].source
    run_charge = next(charge for line in after.lines for charge in line.charges if charge.price_ref.startswith("cloud_run."))
    assert run_charge.source == "hand-typed from https://cloud.google.com/run/pricing"


def test_a_price_file_cannot_type_the_loader_filled_origin(tmp_path: Path) -> None:
    pricing = tmp_path / "pricing"
    shutil.copytree(PRICING_DIR, pricing)
    nat = pricing / "cloud_nat.yaml"
    nat.write_text(nat.read_text().replace("    what: data processed by the gateway, both directions\n",
                                           "    what: data processed by the gateway, both directions\n"
                                           "    from_sku: {global: made-up}\n"))
    with pytest.raises(PricingError, match="from_sku"):
        load_price_book(pricing)


def test_the_refresh_script_keeps_skus_named_per_location() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import refresh_skus
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    named = refresh_skus.named_skus()
    assert {"A88A-5A60-E821", "E5F0-6A5D-7BAD", "8AE7-5BBD-8F38"} <= named
