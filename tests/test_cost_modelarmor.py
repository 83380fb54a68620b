"""Model Armor screening in the estimate: tokens of the chat services that name the template, the
free 2M tokens once, streamed answers re-screened in block mode only, nothing without guardrails."""

from __future__ import annotations

import json
from functools import lru_cache

import pytest
from stack_values import run_with_values

from stagewise.cost.estimate import estimate_run
from stagewise.cost.model import Estimate, LineItem
from stagewise.cost.prices import default_price_book
from stagewise.cost.rules.model_armor import streamed_screening_tokens

USAGE = {"requests_per_month": 100_000, "input_tokens_per_request": 500, "output_tokens_per_request": 200}


@lru_cache(maxsize=None)
def estimate(stack: str, guardrails: str | None = None) -> Estimate:
    run = run_with_values(stack, {"stagewise:guardrails": guardrails} if guardrails else None)
    return estimate_run(run, USAGE)


def armor_line(result: Estimate) -> LineItem:
    (line,) = [line for line in result.lines if line.type == "gcp:modelarmor/template:Template"]
    return line


def test_the_price_row_is_per_token_with_the_free_tier() -> None:
    price = default_price_book().entry("model_armor", "tokens")
    assert price.unit == "token" and price.at("global") == pytest.approx(0.10 / 1_000_000)
    assert price.free == 2_000_000 and price.verified is False


def test_an_answer_is_screened_again_at_each_boundary() -> None:
    # 200 tokens in 100-token (400-character) steps: 100, 200, then the whole 200 at the end
    assert streamed_screening_tokens(200, 400) == 100 + 200 + 200
    assert streamed_screening_tokens(50, 400) == 50  # shorter than a step: screened once, at the end


def test_prod_prices_both_chat_regions_prompts_and_re_screened_answers() -> None:
    line = armor_line(estimate("prod"))
    assert line.status == "priced"
    prompts, answers = line.charges
    # both chat services name the template and split the requests
    assert prompts.quantity == pytest.approx(100_000 * 500)
    assert answers.quantity == pytest.approx(100_000 * streamed_screening_tokens(200, 400))
    assert prompts.free_quantity + answers.free_quantity == pytest.approx(2_000_000)
    assert line.monthly == pytest.approx((100_000 * 500 + 100_000 * 500 - 2_000_000) * 1e-7)


def test_staging_inspects_only_so_answers_count_once() -> None:
    _, answers = armor_line(estimate("staging")).charges
    assert answers.quantity == pytest.approx(100_000 * 200)


def test_no_guardrails_no_screening_cost() -> None:
    assert not [line for line in estimate("mvp").lines if "modelarmor" in line.type]
    # turned on in the MVP: inspect-only (no stage default), so the answer is screened once
    assert armor_line(estimate("mvp", json.dumps({"enabled": True}))).monthly == pytest.approx((100_000 * 700 - 2_000_000) * 1e-7)
