"""The chat app charges usage with the estimator's own token prices: its shipped copy must be current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stagewise.cost.prices import GLOBAL, default_price_book

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "app" / "src" / "chatapp" / "data" / "model_prices.json"


def test_shipped_app_prices_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "app_prices.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_prices_match_the_estimators_price_book() -> None:
    models = json.loads(SHIPPED.read_text())["models"]
    book = default_price_book()
    assert "gemini-2.5-flash" in models
    for model, entry in models.items():
        assert entry["input_nano_usd_per_token"] == round(book.entry("vertex_ai", f"tokens_in.{model}").price[GLOBAL] * 1e9)
        assert entry["output_nano_usd_per_token"] == round(book.entry("vertex_ai", f"tokens_out.{model}").price[GLOBAL] * 1e9)


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    data = json.loads(SHIPPED.read_text())
    data["models"]["gemini-2.5-flash"]["input_nano_usd_per_token"] += 1
    stale = tmp_path / "model_prices.json"
    stale.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    script = str(ROOT / "scripts" / "app_prices.py")
    result = subprocess.run([sys.executable, script, "--check", "--target", str(stale)], capture_output=True, text=True)
    assert result.returncode == 1 and "stale" in result.stdout
    stale.write_text(SHIPPED.read_text())
    result = subprocess.run([sys.executable, script, "--check", "--target", str(stale)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
