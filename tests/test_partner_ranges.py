"""stagewise:partners.partners.<key>.allowedCidrs (issue 23): validated before any resource, then passed to the
partner service's app, recorded on the key's secret, counted by a log metric and shown in the review."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stack_values import run_with_values

from stagewise.stacks.config.loader import ConfigError, load_config
from stagewise.engine.record import ProgramRun

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"gcp:project": "stagewise-test", "gcp:region": "us-central1"}
SERVICE = "gcp:cloudrunv2/service:Service"


def partners_config(partners: dict[str, Any]) -> Any:
    raw = dict(GOOD, **{"stagewise:partners": json.dumps({"partners": partners})})
    return load_config(raw, "mvp").partners


def error_of(partners: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        partners_config(partners)
    return str(caught.value)


def test_ipv4_and_ipv6_ranges_are_kept_in_canonical_form() -> None:
    config = partners_config({"acme": {"allowedCidrs": ["203.0.113.0/24", "2001:DB8:AC:0::/48", "198.51.100.7"]}, "globex": {}})
    assert config.source_ranges == {"acme": ["203.0.113.0/24", "2001:db8:ac::/48", "198.51.100.7/32"]}
    assert config.ranges_env_of("acme-corp") == "CHAT_ALLOWED_CIDRS_ACME_CORP"


@pytest.mark.parametrize(
    ("ranges", "needles"),
    [
        (["0.0.0.0/0"], ["0.0.0.0/0 is too broad (every address)", "at most /16 for IPv4"]),
        (["::/0"], ["::/0 is too broad (every address)", "at most /32 for IPv6"]),
        (["10.0.0.0/15"], ["10.0.0.0/15 is too broad (131,072 addresses)"]),
        (["2001:db8::/31"], ["2001:db8::/31 is too broad", "/32 for IPv6"]),
        (["203.0.113.7/24"], ["'203.0.113.7/24' has host bits set: write the network, 203.0.113.0/24"]),
        (["acme-office"], ["'acme-office' is not an IPv4 or IPv6 network"]),
        (["203.0.113.0/24", "203.0.113.128/25"], ["203.0.113.0/24 and 203.0.113.128/25 overlap"]),
        (["2001:db8:ac::/48", "2001:db8:ac:1::/64"], ["2001:db8:ac::/48 and 2001:db8:ac:1::/64 overlap"]),
    ],
)
def test_bad_ranges_name_the_partner_key_and_why(ranges: list[str], needles: list[str]) -> None:
    message = error_of({"acme": {"allowedCidrs": ranges}})
    assert "stagewise:partners.partners.acme.allowedCidrs" in message
    for needle in needles:
        assert needle in message


def test_the_broadest_allowed_ranges_pass() -> None:
    assert partners_config({"acme": {"allowedCidrs": ["172.16.0.0/16", "2001:db8::/32"]}}).source_ranges["acme"] == [
        "172.16.0.0/16", "2001:db8::/32"]


def test_ranges_that_overlap_across_partners_are_refused() -> None:
    message = error_of({"acme": {"allowedCidrs": ["203.0.113.0/24"]}, "globex": {"allowedCidrs": ["198.51.100.0/24", "203.0.113.64/26"]}})
    assert "stagewise:partners.partners" in message
    assert "partners 'acme' (203.0.113.0/24) and 'globex' (203.0.113.64/26) have overlapping allowedCidrs" in message


def test_an_ipv4_and_an_ipv6_range_never_overlap() -> None:
    # ::ffff:0:0/96 holds IPv4-mapped addresses, but as a configured range it is IPv6 and distinct
    config = partners_config({"acme": {"allowedCidrs": ["203.0.113.0/24"]}, "globex": {"allowedCidrs": ["2001:db8:ac::/48"]}})
    assert set(config.source_ranges) == {"acme", "globex"}


def test_a_bad_range_stops_the_review_with_exit_2() -> None:
    partners = {"name": "chat-partners", "minInstances": 0, "maxInstances": 10, "partners": {"acme": {"allowedCidrs": ["0.0.0.0/0"]}}}
    code = ("import sys; from stagewise import cli; sys.exit(cli.main(['review', 'staging', '--values', 'examples/values/staging.yaml', "
            f"'--config', {('stagewise:partners=' + json.dumps(partners))!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout[-1000:] + done.stderr[-2000:]
    assert "stagewise:partners.partners.acme.allowedCidrs" in done.stderr and "too broad" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def staging() -> ProgramRun:
    return run_with_values("staging")


def envs(run: ProgramRun, name: str) -> dict[str, Any]:
    inputs = next(r.inputs for r in run.of_type(SERVICE) if r.inputs["name"] == name)
    return {e["name"]: e.get("value", e.get("valueSource")) for e in inputs["template"]["containers"][0]["envs"]}


def test_the_partner_service_gets_each_partners_ranges_beside_its_key(staging: ProgramRun) -> None:
    partner = envs(staging, "chat-partners")
    assert partner["CHAT_ALLOWED_CIDRS_ACME"] == "203.0.113.0/24,2001:db8:ac::/48"
    assert partner["CHAT_TRUSTED_PROXY_HOPS"] == "1"
    assert "CHAT_API_KEY_ACME" in partner and "CHAT_API_KEY_GLOBEX" in partner
    assert "CHAT_ALLOWED_CIDRS_GLOBEX" not in partner  # globex has no ranges: key only
    assert not any(name.startswith("CHAT_ALLOWED_CIDRS_") for name in envs(staging, "chat"))


def test_the_key_secret_records_the_ranges(staging: ProgramRun) -> None:
    secrets = {r.inputs["secretId"]: r.inputs for r in staging.of_type("gcp:secretmanager/secret:Secret")}
    assert secrets["partner-acme-api-key"]["annotations"] == {"stagewise-allowed-cidrs": "203.0.113.0/24,2001:db8:ac::/48"}
    assert "annotations" not in secrets["partner-globex-api-key"] and "annotations" not in secrets["chat-api-keys"]


def test_refusals_are_counted_per_partner_by_a_log_metric(staging: ProgramRun) -> None:
    [metric] = [r.inputs for r in staging.of_type("gcp:logging/metric:Metric") if r.inputs["name"].endswith("-source-refusals")]
    assert metric["name"] == "chat-partners-source-refusals"
    assert metric["filter"] == ('resource.type="cloud_run_revision" AND resource.labels.service_name="chat-partners" '
                                "AND jsonPayload.source_refused=true")
    assert metric["labelExtractors"] == {"partner": "EXTRACT(jsonPayload.partner)"}
    assert [label["key"] for label in metric["metricDescriptor"]["labels"]] == ["partner"]


def test_the_stack_output_says_where_the_ranges_are_enforced(staging: ProgramRun) -> None:
    out = staging.stack_outputs["partner_source_ranges"]
    assert list(out) == ["acme"]
    assert out["acme"]["allowedCidrs"] == ["203.0.113.0/24", "2001:db8:ac::/48"]
    assert "chat-partners" in out["acme"]["enforcedBy"] and "CHAT_ALLOWED_CIDRS_ACME" in out["acme"]["enforcedBy"]


def test_without_ranges_nothing_is_declared() -> None:
    partners = {"name": "chat-partners", "minInstances": 0, "maxInstances": 10, "useTestInference": True,
                "partners": {"acme": {}, "globex": {}}}
    run = run_with_values("staging", {"stagewise:partners": json.dumps(partners)})
    assert not any(n.startswith("CHAT_ALLOWED_CIDRS_") or n == "CHAT_TRUSTED_PROXY_HOPS" for n in envs(run, "chat-partners"))
    assert not [r for r in run.of_type("gcp:logging/metric:Metric") if r.inputs["name"].endswith("-source-refusals")]
    assert "partner_source_ranges" not in run.stack_outputs


def test_the_cost_line_prices_the_app_check_at_zero_and_states_the_alternative(staging: ProgramRun) -> None:
    from stagewise.cost.estimate import estimate_run
    from stagewise.cost.model import HOURS_PER_MONTH
    from stagewise.cost.prices import default_price_book

    estimate = estimate_run(staging)
    [line] = [item for item in estimate.lines if item.type == "stagewise:partners:SourceRangeCheck"]
    assert line.status == "priced" and line.monthly == 0.0
    assert line.name == "partners → partner source ranges (app check)"
    assert "checked by the app on this service (acme: 2 ranges)" in line.assumptions[0]
    book = default_price_book()
    forwarding = book.entry("load_balancing", "forwarding_rule_first5").at("global") * HOURS_PER_MONTH
    fixed = forwarding + book.entry("cloud_armor", "policy").at("global") + 2 * book.entry("cloud_armor", "rule").at("global")
    stated = float(line.assumptions[1].split("would add $", 1)[1].split(" ", 1)[0].replace(",", ""))
    # the fixed part of the alternative, plus a per-request part that grows with the usage profile
    assert fixed < stated < fixed + 1.0, line.assumptions[1]
    assert f"forwarding rule 730 h = ${forwarding:,.2f}" in line.assumptions[1]
    busier = estimate_run(staging, {"requests_per_month": 100_000_000})
    [line] = [item for item in busier.lines if item.type == "stagewise:partners:SourceRangeCheck"]
    assert float(line.assumptions[1].split("would add $", 1)[1].split(" ", 1)[0].replace(",", "")) > stated


def test_the_review_shows_the_ranges_where_they_are_enforced_and_the_priced_line(staging: ProgramRun) -> None:
    from stagewise.review.sections import render_text, review_run

    review = review_run(staging)
    text = render_text(review)
    assert "secrets-partner-acme-api-key  [secretId=partner-acme-api-key stagewise-allowed-cidrs=203.0.113.0/24,2001:db8:ac::/48]" in text
    outputs = next(line for line in text.splitlines() if line.strip().startswith("partner_source_ranges:"))
    assert "app check on Cloud Run service chat-partners (CHAT_ALLOWED_CIDRS_ACME" in outputs
    assert "chat-partners-source-refusals" in outputs
    [cost_line] = [line for line in text.splitlines() if "partners → partner source ranges (app check)" in line]
    assert cost_line.split()[-1] == "$0.00"
    policies = review.document()["policies"]
    assert "partner-source-ranges-enforced" not in json.dumps(policies.get("violations", policies))
    assert review.exit_code == 0
