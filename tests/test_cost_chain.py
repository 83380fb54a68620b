"""The model chain decides who answers: staging's partner service tries the test VM first.

Hand calculation (staging as shipped, Pulumi.staging.yaml + examples/values/staging.yaml):
the test VM's group has 0 instances at minimum and a weekday schedule of 1 instance for 10 h,
so it runs 10 h × 5/7 × 365/12 days = 217.26 h of 730 (29.76 % of the month). Arrivals are even
over the month, fallback_share = 2 %:
  test VM           0.2976 × 0.98                = 29.17 % of the partner calls (no tokens)
  gemini-3.1-flash-lite (primary Gemini)  (1 − 0.2917) × 0.98 = 69.42 %
  gemini-3.5-flash (fallback Gemini)      (1 − 0.2917) × 0.02 =  1.42 %
25,000 partner requests (usage/staging.yml) × 1,000 in / 300 out tokens:
  3.1 Flash-Lite: 25,000 × 0.6942 × (1,000 × $0.25 + 300 × $1.50) / 1M = $12.15 (at 98 % it would be $17.15)
"""

from __future__ import annotations

import pytest

from stack_values import run_with_values
from stagewise.cost.estimate import estimate_run

DAYS = 365 / 12


def test_partner_service_pays_gemini_only_for_what_the_test_vm_does_not_answer() -> None:
    result = estimate_run(run_with_values("staging"))
    vm_share = 10 * 5 / 7 * DAYS / 730 * 0.98
    flash_share = (1 - vm_share) * 0.98
    lite_share = (1 - vm_share) * 0.02
    flash = next(l for l in result.lines if l.name == "partners → gemini-3.1-flash-lite")
    fallback = next(l for l in result.lines if l.name == "partners → gemini-3.5-flash")
    assert flash.monthly == pytest.approx(25_000 * flash_share * (1000 * 0.25 + 300 * 1.50) / 1e6, rel=0.001)  # 12.15
    assert fallback.monthly == pytest.approx(25_000 * lite_share * (1000 * 1.50 + 300 * 9.00) / 1e6, rel=0.001)  # 1.49
    # the chat service has no self-hosted entry: its primary Gemini answers 98 %
    chat = next(l for l in result.lines if l.name == "chat → gemini-3.1-flash-lite")
    assert chat.monthly == pytest.approx(25_000 * 0.98 * (1000 * 0.25 + 300 * 1.50) / 1e6, rel=0.001)  # 17.15


def test_an_always_available_server_leaves_gemini_only_the_failovers() -> None:
    result = estimate_run(run_with_values("staging"), {"self_hosted_availability": 1.0})
    flash = next(l for l in result.lines if l.name == "partners → gemini-3.1-flash-lite")
    assert flash.monthly == pytest.approx(25_000 * 0.02 * 0.98 * (1000 * 0.25 + 300 * 1.50) / 1e6, rel=0.001)


def test_staging_test_vm_is_billed_its_scheduled_hours_at_the_n2_spot_rate() -> None:
    result = estimate_run(run_with_values("staging"))
    vm = next(l for l in result.lines if l.name == "test-inference-mig")
    hours = 10 * 5 / 7 * DAYS  # 217.26 h
    machine = next(c for c in vm.charges if c.item == "n2-standard-4 spot hours")
    assert machine.cost == pytest.approx(hours * 0.0556, abs=0.01)  # 12.08
