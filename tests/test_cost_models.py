"""The model table: per-token prices through one function, lifecycle refused or warned at config time."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stagewise.cost.estimate import estimate_run
from stagewise.cost.models import lifecycle_note, model_info, token_prices
from stagewise.cost.prices import NoPrice, default_price_book
from stagewise.engine.record import ProgramError, run_stack

TODAY = dt.date(2026, 12, 2)


def test_token_prices_are_read_from_the_table_the_estimate_uses() -> None:
    prices = token_prices("gemini-3.1-flash-lite")
    assert (prices.input_usd_per_token, prices.output_usd_per_token) == (0.25e-6, 1.50e-6)
    # a request of 1,000 in / 300 out tokens: 1,000 × $0.25/M + 300 × $1.50/M = $0.0007
    assert prices.request_usd(1000, 300) == pytest.approx(0.0007)
    # versioned and preview ids map to the family's row
    assert token_prices("gemini-3-flash-preview").model == "gemini-3-flash"
    assert token_prices("publishers/google/models/gemini-2.5-flash@001").input_usd_per_token == 0.30e-6
    with pytest.raises(NoPrice):
        token_prices("gemini-9")


def test_every_model_in_the_lifecycle_table_has_prices_and_a_source_per_surface() -> None:
    table = default_price_book().file("vertex_ai").models
    assert {"gemini-2.5-flash", "gemini-3.1-flash-lite", "gemini-3.5-flash"} <= set(table)
    for name, info in table.items():
        token_prices(name)  # raises when a row is missing
        assert info.vertex.source and info.gemini_api.source
        if info.vertex.status in ("deprecated", "retired"):
            assert info.replacement and table[info.replacement].vertex.status in ("ga", "preview"), name


def test_gemini_25_flash_retires_on_different_dates_per_surface() -> None:
    info = model_info("gemini-2.5-flash")
    assert info is not None
    assert info.vertex.status == "deprecated" and info.vertex.retirement == dt.date(2026, 10, 16)
    assert info.gemini_api.status == "retired" and info.gemini_api.shutdown == dt.date(2026, 12, 1)
    note = lifecycle_note("gemini-2.5-flash", TODAY)
    assert note and "deprecated on Vertex AI" in note and "gemini-3.1-flash-lite" in note
    assert lifecycle_note("gemini-3.1-flash-lite", TODAY) is None


def test_a_retired_model_is_refused_naming_the_key_and_a_replacement() -> None:
    with pytest.raises(ProgramError) as caught:
        run_stack("mvp", overrides={"stagewise:inference": json.dumps({"mode": "managed", "model": "gemini-2.0-flash-lite"})})
    message = str(caught.value)
    assert "stagewise:inference.model" in message and "retired" in message and "gemini-3.1-flash-lite" in message


def test_a_deprecated_model_is_accepted_with_a_warning_in_the_estimate() -> None:
    run = run_stack("mvp", overrides={"stagewise:inference": json.dumps({"mode": "managed", "model": "gemini-2.5-flash"})})
    tokens = next(l for l in estimate_run(run).lines if l.name == "chat → gemini-2.5-flash")
    assert any(a.startswith("WARNING: gemini-2.5-flash is deprecated on Vertex AI") for a in tokens.assumptions)


def test_shipped_stacks_name_no_deprecated_or_retired_model() -> None:
    from stack_values import run_with_values

    for stack in ("mvp", "staging", "prod"):
        result = estimate_run(run_with_values(stack) if stack != "mvp" else run_stack("mvp"))
        warnings = [a for l in result.lines for a in l.assumptions if a.startswith("WARNING:")]
        assert warnings == [], stack
