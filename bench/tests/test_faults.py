from __future__ import annotations

import pytest

from faults import CUT, ERROR_500, OK, TIMEOUT, FaultPlan, FaultRates, STANDARD_FAULTS


def draw(plan: FaultPlan, n: int) -> list[str]:
    return [plan.next() for _ in range(n)]


def test_standard_ratios_with_fixed_seed() -> None:
    plan = FaultPlan(STANDARD_FAULTS, seed=7)
    draw(plan, 20_000)
    share = {k: v / 20_000 for k, v in plan.served.items()}
    assert share[ERROR_500] == pytest.approx(0.10, abs=0.01)
    assert share[TIMEOUT] == pytest.approx(0.05, abs=0.007)
    assert share[CUT] == pytest.approx(0.05, abs=0.007)
    assert share[OK] == pytest.approx(0.80, abs=0.012)


def test_same_seed_same_sequence_other_seed_differs() -> None:
    a = draw(FaultPlan(STANDARD_FAULTS, seed=3), 500)
    b = draw(FaultPlan(STANDARD_FAULTS, seed=3), 500)
    c = draw(FaultPlan(STANDARD_FAULTS, seed=4), 500)
    assert a == b
    assert a != c


def test_no_faults_means_all_ok() -> None:
    plan = FaultPlan(FaultRates(), seed=1)
    assert set(draw(plan, 1000)) == {OK}


def test_parse_and_reject() -> None:
    assert FaultRates.parse("error500=0.1,timeout=0.05,cut=0.05") == STANDARD_FAULTS
    assert FaultRates.parse("") == FaultRates()
    with pytest.raises(ValueError, match="NAME=RATE"):
        FaultRates.parse("boom=0.1")
    with pytest.raises(ValueError, match="at most 1"):
        FaultRates.parse("error500=0.7,cut=0.5")
    with pytest.raises(ValueError, match="within"):
        FaultRates(timeout=-0.1)
