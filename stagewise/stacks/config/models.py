"""Managed (Gemini) model names, checked against the model table the cost estimate prices from.

The table is stagewise/pricing/vertex_ai.yaml (`tokens_in.<model>` rows): a model it does not list
is either a typo or a model whose cost the review cannot estimate; both are fixed by correcting the
name or adding the model's prices there. Without the table (the program run outside this
repository) names are not checked.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from stagewise import fast_yaml


PRICE_TABLE = Path(__file__).resolve().parents[2] / "pricing" / "vertex_ai.yaml"
_PREFIX = "tokens_in."


@lru_cache(maxsize=1)
def known_models() -> frozenset[str]:
    if not PRICE_TABLE.is_file():
        return frozenset()
    document = fast_yaml.safe_load(PRICE_TABLE.read_text()) or {}
    prices = document.get("prices") or {}
    return frozenset(key[len(_PREFIX):] for key in prices if isinstance(key, str) and key.startswith(_PREFIX))


@lru_cache(maxsize=1)
def lifecycle_table() -> dict[str, dict[str, object]]:
    """The `models:` table of vertex_ai.yaml: each model's lifecycle on Vertex AI and its replacement."""
    if not PRICE_TABLE.is_file():
        return {}
    document = fast_yaml.safe_load(PRICE_TABLE.read_text()) or {}
    table = document.get("models") or {}
    return {str(k): v for k, v in table.items() if isinstance(v, dict)}


def _table_key(value: str) -> str:
    import re

    name = value.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    return re.sub(r"-(\d{3}|preview(-[\w-]+)?|latest)$", "", name)


def _warn(message: str) -> None:
    try:
        import pulumi

        pulumi.log.warn(message)
    except Exception:  # noqa: BLE001 - outside a Pulumi program there is no engine to warn through
        import sys

        print(f"warning: {message}", file=sys.stderr)


def check_lifecycle(value: str) -> None:
    """Refuse a model Vertex AI has retired (naming a current replacement); warn on a deprecated one."""
    entry = lifecycle_table().get(_table_key(value))
    if not entry:
        return
    vertex = entry.get("vertex") if isinstance(entry.get("vertex"), dict) else {}
    assert isinstance(vertex, dict)
    status, when = vertex.get("status"), vertex.get("retirement")
    replacement = entry.get("replacement")
    if status == "retired":
        raise ValueError(f"{value!r} was retired on Vertex AI on {when} (calls to it fail); use {replacement!r} "
                         "(stagewise/pricing/vertex_ai.yaml lists each model's lifecycle and source)")
    if status == "deprecated":
        _warn(f"model {value!r} is deprecated on Vertex AI (retirement {when}, {vertex.get('retirement_note') or 'announced'}); "
              f"plan the move to {replacement!r}")


def check_model(value: str | None) -> str | None:
    if value is None:
        return value
    check_lifecycle(value)
    models = known_models()
    if models and _table_key(value) not in models:
        import difflib

        hint = difflib.get_close_matches(value, sorted(models), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        raise ValueError(f"{value!r} is not a model in the price table; {suggestion}use one of {', '.join(sorted(models))} "
                         f"(or add the model's token prices to stagewise/pricing/vertex_ai.yaml)")
    return value
