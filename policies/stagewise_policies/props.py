"""Reading engine props: camelCase keys, numbers as floats, Mapping/Sequence proxies (not dicts).

Every accessor goes through `__getitem__`, so an unknown value raises the SDK's
`UnknownValueError` exactly where a rule touches it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DAY_SECONDS = 86_400


def get(value: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path through mappings (``a.b.c``); ``default`` when any step is missing."""
    current = value
    for key in path.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return default if current is None else current


def items(value: Any) -> list[Any]:
    """A sequence prop as a list (an absent prop, or a single object the schema allows, as [] / [obj])."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [value[i] for i in range(len(value))]
    return [value]


def mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): value[key] for key in value}


def text(value: Any, path: str = "", default: str = "") -> str:
    found = get(value, path) if path else value
    return found if isinstance(found, str) else default


def number(value: Any, path: str = "") -> float | None:
    """A number that may arrive as float, int or numeric string (e.g. ``retentionPeriod``)."""
    found = get(value, path) if path else value
    if isinstance(found, bool):
        return None
    if isinstance(found, (int, float)):
        return float(found)
    if isinstance(found, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s?\s*", found)
        if match:
            return float(match.group(1))
    return None


def flag(value: Any, path: str, default: bool | None = None) -> bool | None:
    found = get(value, path)
    if isinstance(found, bool):
        return found
    if isinstance(found, str) and found.lower() in ("true", "false"):
        return found.lower() == "true"
    return default


def strings(value: Any) -> list[str]:
    return [item for item in items(value) if isinstance(item, str)]


def config_list(config: Mapping[str, Any], key: str) -> list[str]:
    return [str(item) for item in items(config.get(key))]


def config_int(config: Mapping[str, Any], key: str) -> int:
    """Config numbers arrive as floats through the Configure RPC."""
    return int(float(config[key]))


def walk_strings(value: Any) -> list[str]:
    """Every string anywhere inside a prop (for free-text filters and queries)."""
    found: list[str] = []
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, Mapping):
        for key in value:
            found.extend(walk_strings(value[key]))
    elif isinstance(value, Sequence):
        for index in range(len(value)):
            found.extend(walk_strings(value[index]))
    return found


def region_of(location: str) -> str:
    """``us-central1-a`` -> ``us-central1``; regions and multi-regions unchanged (lowercased)."""
    lowered = location.lower()
    match = re.fullmatch(r"([a-z]+-[a-z]+\d+)-[a-z]", lowered)
    return match.group(1) if match else lowered
