"""Managed (Gemini) model names, checked against the model table the cost estimate prices from.

The table is stagewise/pricing/vertex_ai.yaml (`tokens_in.<model>` rows): a model it does not list
is either a typo or a model whose cost the review cannot estimate; both are fixed by correcting the
name or adding the model's prices there. Without the table (the program run outside this
repository) names are not checked.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PRICE_TABLE = Path(__file__).resolve().parents[2] / "pricing" / "vertex_ai.yaml"
_PREFIX = "tokens_in."


@lru_cache(maxsize=1)
def known_models() -> frozenset[str]:
    if not PRICE_TABLE.is_file():
        return frozenset()
    document = yaml.safe_load(PRICE_TABLE.read_text()) or {}
    prices = document.get("prices") or {}
    return frozenset(key[len(_PREFIX):] for key in prices if isinstance(key, str) and key.startswith(_PREFIX))


def check_model(value: str | None) -> str | None:
    if value is None:
        return value
    models = known_models()
    if models and value not in models:
        import difflib

        hint = difflib.get_close_matches(value, sorted(models), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        raise ValueError(f"{value!r} is not a model in the price table; {suggestion}use one of {', '.join(sorted(models))} "
                         f"(or add the model's token prices to stagewise/pricing/vertex_ai.yaml)")
    return value
