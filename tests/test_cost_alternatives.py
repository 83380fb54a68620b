"""`stagewise cost prod --alternatives`: each mode priced, the SLO each keeps, break-evens, the doc in sync."""

from __future__ import annotations

from functools import lru_cache

import pytest

from stagewise.cost.alternatives import (DOC, END, README, START, SUMMARY_END, SUMMARY_START, Alternative, break_even,
                                         evaluate, render, summary)


@lru_cache(maxsize=1)
def prod() -> tuple[Alternative, ...]:
    return tuple(evaluate("prod"))


def by_title(prefix: str) -> Alternative:
    return next(a for a in prod() if a.title.startswith(prefix))


def test_docs_stages_argument_for_the_default_is_the_estimators_current_output() -> None:
    text = DOC.read_text()
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == render("prod", prod(), seed="$200–400"), "run: uv run python -m stagewise.cost.alternatives --write"


def test_the_readme_shows_the_cheapest_option_and_why_the_default_differs() -> None:
    text = README.read_text()
    block = text.split(SUMMARY_START, 1)[1].split(SUMMARY_END, 1)[0].strip()
    expected = summary(render("prod", prod(), seed="$200–400"))
    assert "Cheapest that keeps the SLO:" in expected and "Why the default stays" in expected
    assert block == expected, "run: uv run python -m stagewise.cost.alternatives --write"


def test_every_mode_is_priced_and_the_shipped_default_is_first() -> None:
    found = prod()
    assert found[0].shipped and found[0].inference["mode"] == "cloudrun-gpu"
    assert {a.inference.get("mode") for a in found} == {"managed", "cloudrun-gpu", "vertex", "gpu-vm"}
    assert all(a.estimate is not None and not a.error for a in found), [(a.title, a.error) for a in found]


def test_spot_and_preview_break_the_prod_slo() -> None:
    assert not by_title("gpu-vm, 1 Spot VM").keeps_slo
    assert by_title("gpu-vm, 1 on-demand VM").keeps_slo and by_title("vertex, 1 replica").keeps_slo


def test_the_cheapest_option_keeping_the_slo_fits_the_seed_budget() -> None:
    keeping = sorted((a for a in prod() if a.keeps_slo), key=lambda a: a.estimate.total if a.estimate else 1e9)
    cheapest = keeping[0]
    assert cheapest.estimate is not None
    # The seed's $200–400 predates guardrails: prod now screens every prompt and streamed answer with
    # Model Armor (issue #20, ≈ $57 at this traffic), which the seed's design does not have. Without that
    # line the cheapest SLO-keeping design fits the seed's band; with it, it is just above (docs/stages.md).
    screening = sum(l.monthly for l in cheapest.estimate.lines if l.type == "gcp:modelarmor/template:Template")
    assert 40 <= screening <= 80
    assert 200 <= cheapest.estimate.total - screening <= 400
    # hand check of its token lines: 300,000 requests, 98 % to 3.1 Flash-Lite ($0.25 / $1.50 per M),
    # 2 % to 3.5 Flash ($1.50 / $9.00 per M), 1,000 in / 300 out tokens each
    tokens = sum(l.monthly for l in cheapest.estimate.lines if l.type == "vertex:gemini:Tokens")
    assert tokens == pytest.approx(300_000 * (0.98 * 0.0007 + 0.02 * 0.0042), rel=0.001)  # 231.00


def test_break_even_is_where_the_two_totals_meet() -> None:
    shipped, managed = prod()[0], by_title("managed gemini-3.1-flash-lite")
    point = break_even(shipped, managed)
    assert point is not None
    assert shipped.total_at(point) == pytest.approx(managed.total_at(point), rel=0.01)
    assert shipped.total_at(point * 0.8) > managed.total_at(point * 0.8)  # managed cheaper below it


def test_the_cli_prints_the_alternatives_at_the_traffic_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from stagewise.cli import main

    assert main(["cost", "mvp", "--alternatives", "--requests", "20000", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    titles = [a["title"] for a in found]
    assert titles[0].startswith("managed as shipped") and any("gemini-3.5-flash" in t for t in titles)
    shipped = found[0]
    # 20,000 requests × (1,000 × $0.25 + 300 × $1.50) / 1M: the MVP's Flash-Lite tokens, plus pennies of storage
    assert shipped["monthlyUsd"] == pytest.approx(20_000 * 0.0007, abs=0.10) and shipped["keepsSlo"]
