"""app/src/chatapp/data/model_prices.json: the per-token model prices the chat app charges usage with.

They come from the same price file the estimator reads (`stagewise/pricing/vertex_ai.yaml`, loaded
and validated by `stagewise.cost.prices.load_price_file`), so a request's recorded cost and the
`stagewise cost` estimate can never disagree on a price. Prices are written in nano-USD per token
(integers), so the app sums costs exactly.

`uv run --locked python scripts/app_prices.py` rewrites the file; `--check` exits 1 when it is stale.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stagewise.cost.prices import GLOBAL, PRICING_DIR, load_price_file  # noqa: E402

SOURCE = PRICING_DIR / "vertex_ai.yaml"
TARGET = ROOT / "app" / "src" / "chatapp" / "data" / "model_prices.json"
NANOS = Decimal(1_000_000_000)


def _nanos(usd: float, price_id: str) -> int:
    value = Decimal(str(usd)) * NANOS
    if value != value.to_integral_value():
        raise SystemExit(f"{SOURCE.name}: {price_id} = {usd} USD is not a whole number of nano-USD per token")
    return int(value)


def render() -> str:
    price_file = load_price_file(SOURCE)
    models: dict[str, dict[str, int]] = {}
    for price_id, price in sorted(price_file.prices.items()):
        kind, _, model = price_id.partition(".")
        if kind not in ("tokens_in", "tokens_out"):
            continue
        if price.unit != "token" or GLOBAL not in price.price:
            raise SystemExit(f"{SOURCE.name}: {price_id} must be priced per token with a 'global' price")
        field = "input_nano_usd_per_token" if kind == "tokens_in" else "output_nano_usd_per_token"
        models.setdefault(model, {})[field] = _nanos(price.price[GLOBAL], price_id)
    for model, entry in models.items():
        if len(entry) != 2:
            raise SystemExit(f"{SOURCE.name}: {model} needs both tokens_in.{model} and tokens_out.{model}")
    document = {
        "generated_by": "scripts/app_prices.py",
        "from": "stagewise/pricing/vertex_ai.yaml",
        "source": price_file.source,
        "read": price_file.read.isoformat(),
        "models": models,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """[--check] [--target PATH] (a test checks a copy with --target)."""
    target = Path(argv[argv.index("--target") + 1]) if "--target" in argv else TARGET
    text = render()
    if "--check" in argv:
        if not target.is_file() or target.read_text() != text:
            print(f"{target} is stale: run `uv run --locked python scripts/app_prices.py`")
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
