"""The price files: well-formed, sourced from Google's pricing pages with a date, and regional."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pulumi_gcp
import pytest

from stagewise.cost.prices import PRICING_DIR, NoPrice, PricingError, load_price_book, load_price_file
from stagewise.cost.rules import RULES

BOOK = load_price_book()
# Families whose serving prices differ by location: each needs us-central1 and an EU location.
REGIONAL_FAMILIES = ("cloud_run", "firestore", "cloud_storage", "load_balancing", "network")


def test_one_file_a_family_each_with_google_source_and_read_date() -> None:
    assert len(list(PRICING_DIR.glob("*.yaml"))) == len(BOOK.files) >= 13
    for family, price_file in BOOK.files.items():
        assert price_file.source.startswith("https://cloud.google.com/"), family
        assert price_file.read >= dt.date(2026, 11, 23), family  # the day each page was read (model_armor: 2026-12-01)
        assert price_file.prices or family == "free", family


@pytest.mark.parametrize("family", REGIONAL_FAMILIES)
def test_regional_families_price_us_central1_and_an_eu_location(family: str) -> None:
    for price_id, price in BOOK.file(family).prices.items():
        locations = set(price.price)
        if "global" in locations:
            continue
        assert "us-central1" in locations, f"{family}.{price_id}"
        assert any(loc.startswith("europe-") or loc in ("EU", "eur3") for loc in locations), f"{family}.{price_id}"


def test_every_price_says_whether_it_was_verified_and_unverified_ones_are_marked() -> None:
    unverified = [(f, p) for f, pf in BOOK.files.items() for p, price in pf.prices.items() if not price.verified]
    verified = [(f, p) for f, pf in BOOK.files.items() for p, price in pf.prices.items() if price.verified]
    assert verified and unverified  # honest mix: what was seen on the page, and what was not


def test_lookup_falls_back_to_global_and_raises_for_a_missing_region() -> None:
    assert BOOK.entry("cloud_nat", "data").at("asia-south1") == 0.045  # same in every region (page says so)
    with pytest.raises(NoPrice):
        BOOK.entry("compute", "machine.e2-medium").at("asia-south1")
    with pytest.raises(NoPrice):
        BOOK.entry("compute", "machine.no-such-type")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def test_malformed_price_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, """
family: broken
service: Broken
source: https://cloud.google.com/run/pricing
read: "2026-11-23"
prices:
  cpu: {unit: s, what: cpu, price: {us-central1: -1}, verified: true}
""")
    with pytest.raises(PricingError, match=r"broken.yaml: prices.cpu.price"):
        load_price_file(path)


def test_price_without_verified_flag_or_from_another_site_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="verified"):
        load_price_file(_write(tmp_path, """
family: f
service: F
source: https://cloud.google.com/run/pricing
read: "2026-11-23"
prices:
  cpu: {unit: s, what: cpu, price: {global: 1}}
"""))
    with pytest.raises(PricingError, match="cloud.google.com"):
        load_price_file(_write(tmp_path, """
family: f
service: F
source: https://example.com/prices
read: "2026-11-23"
"""))


def test_two_files_with_one_family_are_rejected(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text('family: same\nservice: S\nsource: https://cloud.google.com/x\nread: "2026-11-23"\n')
    with pytest.raises(PricingError, match="already defined"):
        load_price_book(tmp_path)


def _gcp_token_exists(token: str) -> bool:
    """A gcp:module/resource:Resource token is declared by a class in the installed pulumi_gcp."""
    module = token.split(":")[1].split("/")[0]
    package = Path(pulumi_gcp.__file__).parent / module.lower()
    return package.is_dir() and any(f"'{token}'" in path.read_text() for path in package.glob("*.py"))


def test_every_priced_or_free_type_token_is_a_real_pulumi_gcp_type() -> None:
    assert _gcp_token_exists("gcp:compute/uRLMap:URLMap") and not _gcp_token_exists("gcp:compute/urlMap:UrlMap")
    tokens = [t for t in [*RULES, *BOOK.file("free").types] if t.startswith("gcp:")]
    missing = [t for t in tokens if not _gcp_token_exists(t)]
    assert not missing, f"type tokens not in pulumi_gcp (typo?): {missing}"
